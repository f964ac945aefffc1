"""Bursts to an offline user, end to end (real processes, the official JS client): messages sent without
waiting for acks, from one device or two at once, fold into one notification counting them all, and one
email goes out for the email window."""

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from platform_api.notifications.mailer import Mailer
from shared_models.documents import Notification
from shared_models.enums import Role
from tests.chat_server.clients import JsClient
from tests.chat_server.test_chat import new_account, open_conversation, pair, send
from tests.chat_server.test_notifications import connected, mails_to, settings_for
from tests.conftest import LiveStack
from tests.factories import API, Account

pytestmark = pytest.mark.e2e
K = 5


def burst(conversation_id: str, tag: str, n: int = K) -> list[tuple[str, dict[str, Any]]]:
    return [("message:send", send(conversation_id, f"{tag} {i}")) for i in range(n)]


def sent(acks: Sequence[dict[str, Any]]) -> list[str]:
    """The notification source ids of acknowledged messages (each fresh, none refused)."""
    assert all(ack["ok"] and not ack["duplicate"] for ack in acks), acks
    return [f"message:{ack['message']['id']}" for ack in acks]


async def gather_bursts(*bursts: tuple[JsClient, list[tuple[str, Any]]]) -> list[list[Any]]:
    """Each client fires its burst without waiting for acks, all clients at once; their acks, per client."""
    return list(await asyncio.gather(*(client.emit_all(emits) for client, emits in bursts)))


async def settled(client: JsClient, conversation_id: str) -> None:
    """Every notification for what this client's chat-server process acked so far is written. A process
    writes a batch's notifications before it delivers the next batch, and acks a message only once
    delivered (chat_server/committer.py): so a message acked now, in another conversation, comes after
    them. An event to wait for, where the recipient (offline) has none."""
    ack = await client.emit("message:send", send(conversation_id, "barrier"))
    assert ack["ok"], ack


async def new_message_notifications(rest: httpx.AsyncClient, recipient: Account) -> list[dict[str, Any]]:
    listed = await rest.get(f"{API}/notifications", headers=recipient.bearer)
    assert listed.status_code == 200, listed.text
    return [n for n in listed.json()["items"] if n["type"] == "new_message"]


async def stored_for(recipient: Account) -> list[Notification]:
    return await Notification.find({"recipient_id": recipient.id, "type": "new_message"}).to_list()


async def mails_after_two_mailer_runs(
    live_stack: LiveStack, smtp: tuple[int, Path], recipient: Account
) -> list[str]:
    """Run the mailer until nothing is due, twice (the second run must find nothing more of ours), and
    return the subjects of the notification emails the recipient got."""
    port, maildir = smtp
    mailer = Mailer(settings_for(live_stack, live_stack.chat_url, port))
    for _ in range(2):
        while await mailer.send_due(datetime.now(UTC)):
            pass
    return [m["Subject"] for m in mails_to(maildir, recipient.email) if m["Subject"] == "New message"]


async def test_a_burst_without_waiting_for_acks_makes_one_notification_and_one_email(
    live_stack: LiveStack, db: None, smtp: tuple[int, Path]
) -> None:
    async with httpx.AsyncClient(base_url=live_stack.platform_url, timeout=20) as rest:
        customer = await new_account(rest, Role.customer)
        provider = await new_account(rest, Role.provider)  # never connects: offline throughout
        witness = await new_account(rest, Role.provider)
        conversation = await open_conversation(rest, customer, provider)
        aside = await open_conversation(rest, customer, witness)
        phone = await connected(live_stack.chat_url, customer)
        laptop = None
        try:
            first = sent(await phone.emit_all(burst(conversation, "burst")))
            await settled(phone, aside)
            assert [(n["count"], n["body"]) for n in await new_message_notifications(rest, provider)] == [
                (K, f"burst {K - 1}")
            ]
            (stored,) = await stored_for(provider)
            assert stored.occurrences == K and stored.source_ids == first  # each once, in stored order
            assert await mails_after_two_mailer_runs(live_stack, smtp, provider) == ["New message"]

            # Then two devices at once, 5 each: the same collapse key inside the 60 s dedup window, and the
            # notification still unread, so all ten fold into the same one (15); the 15 min email window
            # still runs, so no second email.
            laptop = await connected(live_stack.chat_url, customer)
            on_phone, on_laptop = [
                sent(acks)
                for acks in await gather_bursts(
                    (phone, burst(conversation, "phone")), (laptop, burst(conversation, "laptop"))
                )
            ]
            await settled(phone, aside)
            assert [n["count"] for n in await new_message_notifications(rest, provider)] == [3 * K]
            (again,) = await stored_for(provider)
            assert again.id == stored.id and sorted(again.source_ids) == sorted(first + on_phone + on_laptop)
            assert await mails_after_two_mailer_runs(live_stack, smtp, provider) == ["New message"]
        finally:
            await phone.close()
            if laptop is not None:
                await laptop.close()


async def test_two_devices_bursting_at_once_make_one_notification_and_one_email(
    live_stack: LiveStack, db: None, smtp: tuple[int, Path]
) -> None:
    async with httpx.AsyncClient(base_url=live_stack.platform_url, timeout=20) as rest:
        customer, provider, conversation = await pair(rest)
        witness = await new_account(rest, Role.provider)
        aside = await open_conversation(rest, customer, witness)
        phone = await connected(live_stack.chat_url, customer)
        laptop = await connected(live_stack.chat_url, customer)
        try:
            on_phone, on_laptop = [
                sent(acks)
                for acks in await gather_bursts(
                    (phone, burst(conversation, "phone")), (laptop, burst(conversation, "laptop"))
                )
            ]
            await settled(phone, aside)
            assert [n["count"] for n in await new_message_notifications(rest, provider)] == [2 * K]
            (stored,) = await stored_for(provider)
            assert sorted(stored.source_ids) == sorted(on_phone + on_laptop)
            assert await mails_after_two_mailer_runs(live_stack, smtp, provider) == ["New message"]
        finally:
            await phone.close()
            await laptop.close()
