"""Two chat-server processes on the real Redis, and a platform of their own: bursts from a sender's two
devices on different instances fold into one notification and one email, and a block takes effect on every
instance the moment the platform answers (and an unblock too)."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from scripts import stack
from scripts.processes import ManagedProcess, free_port
from shared_models.documents import Notification
from shared_models.enums import Role
from tests.chat_server.test_chat import new_account, open_conversation, pair, send
from tests.chat_server.test_collapse_e2e import (
    burst,
    gather_bursts,
    mails_after_two_mailer_runs,
    new_message_notifications,
    sent,
    settled,
)
from tests.chat_server.test_notifications import connected
from tests.chat_server.test_scale_out import redis_reachable
from tests.conftest import REDIS_URL, LiveStack, service_env
from tests.factories import API

pytestmark = pytest.mark.e2e
CYCLES = 10
# The sender sends PER_DEVICE messages to each of RECIPIENTS from each of two devices, plus two barrier
# messages: under the default per-user limit (30 in 10 s) even where the suite does not raise it.
RECIPIENTS, PER_DEVICE = 4, 3


def url_of(proc: ManagedProcess) -> str:
    return f"http://127.0.0.1:{proc.argv[proc.argv.index('--port') + 1]}"


@dataclass
class Cluster:
    a: str
    b: str
    platform: str  # calls instance A only (CHAT_INTERNAL_URL)
    platform_proc: ManagedProcess
    astray: str  # a platform whose CHAT_INTERNAL_URL reaches no chat server (shares only Redis with them)
    astray_proc: ManagedProcess


@pytest.fixture(scope="module")
def cluster(live_stack: LiveStack, run_dir: Path) -> Iterator[Cluster]:
    if not redis_reachable():
        pytest.skip(f"no Redis at {REDIS_URL}: the scale-out tests need a real one")
    env = {
        **service_env(live_stack.mongodb_uri, live_stack.db_name, live_stack.stripe_api),
        "REDIS_URL": REDIS_URL,
        # Each run its own Socket.IO channel (and so its own key prefix), so parallel runs never cross-talk.
        "REDIS_CHANNEL": f"socketio-test-{uuid.uuid4().hex[:8]}",
    }
    procs: list[ManagedProcess] = []
    try:
        for _ in range(2):
            procs.append(stack.chat(free_port(), env, run_dir / "logs").start())
        platform_env = {**env, "CHAT_INTERNAL_URL": url_of(procs[0])}
        procs.append(stack.platform(free_port(), platform_env, run_dir / "logs").start())
        astray_env = {**env, "CHAT_INTERNAL_URL": f"http://127.0.0.1:{free_port()}"}
        procs.append(stack.platform(free_port(), astray_env, run_dir / "logs").start())
        yield Cluster(
            url_of(procs[0]), url_of(procs[1]), url_of(procs[2]), procs[2], url_of(procs[3]), procs[3]
        )
    finally:
        for proc in reversed(procs):
            proc.stop()


async def test_bursts_from_two_devices_on_two_instances_make_one_notification_and_one_email(
    cluster: Cluster, live_stack: LiveStack, db: None, smtp: tuple[int, Path]
) -> None:
    async with httpx.AsyncClient(base_url=cluster.platform, timeout=20) as rest:
        customer = await new_account(rest, Role.customer)
        # Several offline recipients: as many creation races between the instances per run.
        recipients = [await new_account(rest, Role.provider) for _ in range(RECIPIENTS)]
        witness = await new_account(rest, Role.provider)
        conversations = [await open_conversation(rest, customer, r) for r in recipients]
        aside = await open_conversation(rest, customer, witness)
        on_a = await connected(cluster.a, customer)
        on_b = await connected(cluster.b, customer)
        try:
            emits = {
                client: [e for c in conversations for e in burst(c, tag, PER_DEVICE)]
                for client, tag in ((on_a, "from a"), (on_b, "from b"))
            }
            acks_a, acks_b = await gather_bursts(*emits.items())
            sent(acks_a + acks_b)
            await settled(on_a, aside)  # each instance's notifications are written
            await settled(on_b, aside)
            for conversation, recipient in zip(conversations, recipients, strict=True):
                ids = [
                    f"message:{ack['message']['id']}"
                    for ack in acks_a + acks_b
                    if ack["message"]["conversationId"] == conversation
                ]
                assert [n["count"] for n in await new_message_notifications(rest, recipient)] == [
                    2 * PER_DEVICE
                ]
                (stored,) = await Notification.find(
                    {"recipient_id": recipient.id, "type": "new_message"}
                ).to_list()
                assert stored.occurrences == 2 * PER_DEVICE and sorted(stored.source_ids) == sorted(ids)
            for recipient in recipients:
                assert await mails_after_two_mailer_runs(live_stack, smtp, recipient) == ["New message"]
        finally:
            await on_a.close()
            await on_b.close()


@pytest.mark.parametrize(("instance", "platform"), [("b", "reaching"), ("a", "reaching"), ("b", "astray")])
async def test_a_block_holds_on_every_instance_the_moment_the_platform_answers(
    cluster: Cluster, instance: str, platform: str
) -> None:
    """The platform tells instance A only; the customer is on B (or, in the "a" case, on A itself); the
    astray platform reaches no chat server at all, only Redis. Each cycle: block, send at once (refused),
    unblock, send at once (passes)."""
    base_url = cluster.platform if platform == "reaching" else cluster.astray
    async with httpx.AsyncClient(base_url=base_url, timeout=20) as rest:
        customer, provider, conversation = await pair(rest)
        client = await connected(cluster.b if instance == "b" else cluster.a, customer)
        path = f"{API}/conversations/{conversation}/block"
        passed, outcomes = [], []
        try:
            first = await client.emit("message:send", send(conversation, "before"))
            assert first["ok"], first  # the instance now holds the unblocked state
            passed.append("before")
            for i in range(CYCLES):
                blocked = await rest.put(path, headers=provider.bearer)
                assert blocked.status_code == 200 and blocked.json()["blocked_by_me"] is True
                refused = await client.emit("message:send", send(conversation, f"while blocked {i}"))
                unblocked = await rest.delete(path, headers=provider.bearer)
                assert unblocked.status_code == 200 and unblocked.json()["blocked"] is False
                after = await client.emit("message:send", send(conversation, f"after {i}"))
                outcomes.append((i, code(refused), code(after)))
                if after["ok"]:
                    passed.append(f"after {i}")
        finally:
            await client.close()
        assert outcomes == [(i, "blocked", "ok") for i in range(CYCLES)], outcomes
        history = await rest.get(f"{API}/conversations/{conversation}/messages", headers=customer.bearer)
        assert sorted(m["body"] for m in history.json()["items"]) == sorted(passed)
    # The reaching platform really reached instance A each time (else only the change stream would have
    # told it); the astray one never reached any, and the block held through Redis alone.
    log = (cluster.platform_proc if platform == "reaching" else cluster.astray_proc).log_path
    assert log is not None and ("realtime.call_failed" in log.read_text()) is (platform == "astray")


def code(ack: dict[str, Any]) -> str:
    return "ok" if ack.get("ok") else str(ack.get("error", {}).get("code", ack))


async def test_typing_is_hidden_on_every_instance_the_moment_a_block_returns(cluster: Cluster) -> None:
    """The customer types on instance B, which has the conversation's (unblocked) state cached; the block is
    told to instance A only. A typing sent on B after the block returned must not reach the provider."""
    async with httpx.AsyncClient(base_url=cluster.platform, timeout=20) as rest:
        customer, provider, conversation = await pair(rest)
        watcher = await connected(cluster.a, provider)
        typist = await connected(cluster.b, customer)
        typing = {"conversationId": conversation, "isTyping": True}
        try:
            for is_typing in (True, False):  # B now holds the conversation's state
                assert (await typist.emit("typing", {**typing, "isTyping": is_typing}))["ok"]
                assert (await watcher.inbox.expect("typing:update"))["isTyping"] is is_typing
            path = f"{API}/conversations/{conversation}/block"
            assert (await rest.put(path, headers=provider.bearer)).status_code == 200
            assert (await typist.emit("typing", typing)) == {"ok": True}  # hidden, not refused
            assert (await rest.delete(path, headers=provider.bearer)).status_code == 200
            # What the provider hears next about the customer: the block's withdrawal, then the unblock's
            # presence; never the typing sent while blocked.
            seen = []
            while not (seen and seen[-1] == ("presence:update", True)):
                name, data = await watcher.inbox.next()
                if name in ("typing:update", "presence:update"):
                    seen.append((name, data.get("isTyping", data.get("online"))))
            assert ("typing:update", True) not in seen, seen
        finally:
            await watcher.close()
            await typist.close()
