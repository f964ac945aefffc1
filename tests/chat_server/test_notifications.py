"""Notifications end to end, real processes and the official JS client: engaged users are not notified,
users elsewhere get one push, a burst collapses into one notification, offline users get one email; and
with the chat server down, booking notifications wait and arrive once when it is back."""

import email
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from platform_api.config import Settings
from platform_api.notifications.mailer import Mailer
from platform_api.notifications.relay import NotificationRelay
from platform_api.realtime import RealtimeClient
from scripts import stack
from scripts.processes import ManagedProcess, free_port
from shared_models.clock import SystemClock
from shared_models.documents import Notification, OutboxEvent
from shared_models.enums import Role
from tests.chat_server.clients import JsClient
from tests.chat_server.test_chat import pair, send
from tests.conftest import TEST_INTERNAL_TOKEN, LiveStack, service_env
from tests.factories import API, Account, register, register_subscribed
from tests.platform_api.bookings.helpers import request_payload

pytestmark = pytest.mark.e2e
NOTIFY = frozenset({"presence:update"})  # expect notifications explicitly here: skip only presence


def settings_for(live_stack: LiveStack, chat_url: str, smtp_port: int = 1) -> Settings:
    return Settings(
        _env_file=None,
        mongodb_uri=live_stack.mongodb_uri,
        mongodb_db=live_stack.db_name,
        internal_api_token=TEST_INTERNAL_TOKEN,  # type: ignore[arg-type]
        chat_internal_url=chat_url,
        smtp_port=smtp_port,
    )


def mails_to(maildir: Path, address: str) -> list[email.message.Message]:
    found = [email.message_from_bytes(p.read_bytes()) for p in sorted(maildir.glob("*.eml"))]
    return [m for m in found if m["To"] == address]


async def connected(url: str, account: Account) -> JsClient:
    client = JsClient()
    status = await client.connect(url, account.token)
    assert status["type"] == "connect", status
    return client


async def test_engaged_elsewhere_burst_and_offline(
    live_stack: LiveStack, db: None, smtp: tuple[int, Path]
) -> None:
    async with httpx.AsyncClient(base_url=live_stack.platform_url, timeout=20) as rest:
        customer, provider, conversation = await pair(rest)
        alice = await connected(live_stack.chat_url, customer)
        bob = await connected(live_stack.chat_url, provider)
        try:
            # Bob is looking at the conversation: the message, and no notification.
            assert (await bob.emit("conversation:join", {"conversationId": conversation}))["ok"]
            assert (await alice.emit("message:send", send(conversation, "are you there?")))["ok"]
            await bob.inbox.expect("message:new", skip=NOTIFY)
            unread = await rest.get(f"{API}/notifications/unread-count", headers=provider.bearer)
            assert unread.json() == {"unread": 0}

            # Bob is on another screen: each message comes with the one notification, collapsing.
            assert (await bob.emit("conversation:leave", {"conversationId": conversation}))["ok"]
            for n in range(20):
                assert (await alice.emit("message:send", send(conversation, f"burst {n}")))["ok"]
            ids, counts = set(), []
            for _ in range(20):  # strictly alternating: the message, then its notification
                await bob.inbox.expect("message:new", skip=NOTIFY)
                pushed = await bob.inbox.expect("notification:new", skip=NOTIFY)
                ids.add(pushed["id"])
                counts.append(pushed["count"])
            assert len(ids) == 1 and counts == list(range(1, 21))
            listed = (await rest.get(f"{API}/notifications", headers=provider.bearer)).json()["items"]
            assert [(n["type"], n["count"], n["body"]) for n in listed] == [("new_message", 20, "burst 19")]

            # Bob goes offline: the next messages fold in too, and one email goes out for them.
            await bob.close()
            for n in range(5):
                assert (await alice.emit("message:send", send(conversation, f"offline {n}")))["ok"]
        finally:
            await alice.close()
            await bob.close()
        port, maildir = smtp
        mailer = Mailer(settings_for(live_stack, live_stack.chat_url, port))
        await mailer.send_due(datetime.now(UTC))
        await mailer.send_due(datetime.now(UTC))  # nothing twice
        mails = [m for m in mails_to(maildir, provider.email) if m["Subject"] != "Confirm your email address"]
        assert [m["Subject"] for m in mails] == ["New message"]
        notification = await Notification.find_one({"recipient_id": provider.id})
        assert notification is not None and notification.occurrences == 25


async def test_chat_server_down_events_wait_then_arrive_exactly_once(
    live_stack: LiveStack, db: None, run_dir: Path
) -> None:
    port = free_port()
    chat_url = f"http://127.0.0.1:{port}"
    env = {**service_env(live_stack.mongodb_uri, live_stack.db_name, live_stack.stripe_api)}
    chat = stack.chat(port, env, run_dir / "logs")
    settings = settings_for(live_stack, chat_url)
    relay = NotificationRelay(RealtimeClient(settings), SystemClock())
    async with httpx.AsyncClient(base_url=live_stack.platform_url, timeout=30) as rest:
        customer = await register(rest, Role.customer)
        provider = await register_subscribed(rest)
        await relay_until_quiet(relay, chat)  # earlier tests' events, so ours are all that is left

        # The chat server is down: 50 booking transitions (25 requests made, 25 accepted).
        ids = []
        for _ in range(25):
            payload = request_payload(provider.body["provider"]["id"], datetime.now(UTC))
            created = await rest.post(f"{API}/requests", json=payload, headers=customer.bearer)
            assert created.status_code == 201
            ids.append(created.json()["id"])
        for rid in ids:
            assert (
                await rest.post(f"{API}/requests/{rid}/accept", headers=provider.bearer)
            ).status_code == 200
        assert await relay.drain() == 0  # nothing delivered, nothing marked
        # (Counted by listing: the engine's count with `field: None` misses documents a find returns.)
        waiting = [
            len(await OutboxEvent.find({"aggregate_id": rid, "dispatched_at": None}).to_list()) for rid in ids
        ]
        assert waiting == [2] * 25

        chat.start()
        try:
            clients = {
                "customer": await connected(chat_url, customer),
                "provider": await connected(chat_url, provider),
            }
            relay.resume_at = 0.0  # do not wait out the backoff in a test
            assert await relay.drain() >= 50
            assert await OutboxEvent.find({"dispatched_at": None}).to_list() == []  # drained
            got: dict[str, list[dict[str, Any]]] = {"customer": [], "provider": []}
            for role, client in clients.items():
                for _ in range(25):
                    got[role].append(await client.inbox.expect("notification:new", skip=NOTIFY))
            assert sorted(n["payload"]["request_id"] for n in got["provider"]) == sorted(ids)
            assert {n["type"] for n in got["provider"]} == {"request_created"}
            assert sorted(n["payload"]["request_id"] for n in got["customer"]) == sorted(ids)
            assert {n["type"] for n in got["customer"]} == {"request_accepted"}

            # Once, not more: replaying the whole relay changes nothing, and the next push is the next event.
            await OutboxEvent.get_pymongo_collection().update_many(
                {"aggregate_id": {"$in": ids}}, {"$set": {"dispatched_at": None}}
            )
            assert await relay.drain() == 50
            one_more = await rest.post(
                f"{API}/requests",
                json=request_payload(provider.body["provider"]["id"], datetime.now(UTC)),
                headers=customer.bearer,
            )
            await relay.drain()
            sentinel = await clients["provider"].inbox.expect("notification:new", skip=NOTIFY)
            assert sentinel["payload"]["request_id"] == one_more.json()["id"]
            assert (
                await Notification.find({"recipient_id": provider.id, "type": "request_created"}).count()
                == 26
            )
        finally:
            for client in locals().get("clients", {}).values():
                await client.close()
            chat.stop()


async def relay_until_quiet(relay: NotificationRelay, chat: ManagedProcess) -> None:
    """Dispatch what earlier tests left in the shared outbox, with the chat server up for once."""
    chat.start()
    try:
        relay.resume_at = 0.0
        while await relay.drain():
            pass
    finally:
        chat.stop()
