"""Redis restarts under a chat-server instance: pub/sub keeps nothing, so live events published meanwhile are
lost. While Redis is away, events that need it are answered `service_unavailable`; once it is back and this
instance's own pub/sub listener receives again, the instance closes its sockets at the transport, the
official client reconnects by itself (and reloads over REST, as after any reconnection), and from then on
every message is delivered live."""

import asyncio
import os
import shutil
import signal
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from scripts import stack
from scripts.processes import ManagedProcess, free_port, port_open
from tests.chat_server.clients import JsClient
from tests.chat_server.test_chat import new_pair, send
from tests.conftest import LiveStack, service_env

pytestmark = pytest.mark.e2e
PAIRS = 4


def redis_server(port: int, log_dir: Path) -> ManagedProcess:
    return ManagedProcess(
        name="redis",
        argv=["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        ready=lambda: port_open(port),
        log_path=log_dir / f"redis-{port}.log",
    )


@dataclass
class OwnRedis:
    """A chat-server instance on a Redis of its own, which a test may stop, restart or freeze."""

    redis: ManagedProcess
    chat_url: str
    port: int
    log_dir: Path

    def restart(self) -> None:
        """Stop Redis and start an empty one on the same port."""
        self.redis.stop()
        self.redis = redis_server(self.port, self.log_dir).start()


@pytest.fixture
def own_redis(live_stack: LiveStack, run_dir: Path) -> Iterator[OwnRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server binary here: these tests run their own Redis to break it")
    port, log_dir = free_port(), run_dir / "logs"
    setup = OwnRedis(redis_server(port, log_dir).start(), "", port, log_dir)
    env = {
        **service_env(live_stack.mongodb_uri, live_stack.db_name),
        "REDIS_URL": f"redis://127.0.0.1:{port}/0",
        "REDIS_CHANNEL": f"socketio-own-{uuid.uuid4().hex[:8]}",
    }
    chat_port = free_port()
    chat = stack.chat(chat_port, env, log_dir).start()
    setup.chat_url = f"http://127.0.0.1:{chat_port}"
    yield setup
    chat.stop()
    setup.redis.stop()


async def test_after_a_redis_restart_sockets_reconnect_and_every_message_is_live(
    live_stack: LiveStack, own_redis: OwnRedis
) -> None:
    url = own_redis.chat_url
    pairs = [await new_pair(live_stack.platform_url) for _ in range(PAIRS)]
    clients: list[tuple[JsClient, JsClient, str]] = []
    try:
        for customer, provider, conversation_id in pairs:
            sender, receiver = JsClient(), JsClient()
            clients.append((sender, receiver, conversation_id))
            for client, account in ((sender, customer), (receiver, provider)):
                assert (await client.connect(url, account.token, reconnect_ms=200))["type"] == "connect"
        # Every pair bursts at once: the chat server's Redis pool holds several connections, each of which a
        # restart leaves dead.
        bursts = await asyncio.gather(
            *(s.emit_all([("message:send", send(c, f"burst {n}")) for n in range(15)]) for s, _, c in clients)
        )
        assert all(ack["ok"] for acks in bursts for ack in acks)
        for _, receiver, _ in clients:
            for n in range(15):
                assert (await receiver.inbox.expect("message:new"))["body"] == f"burst {n}"

        own_redis.redis.stop()  # Redis goes away...
        sender, _, conversation_id = clients[0]
        during = await sender.emit("message:send", send(conversation_id, "during", "during"))
        assert during == {
            "ok": False,
            "error": {"code": "service_unavailable", "message": during["error"]["message"]},
        }, during
        own_redis.restart()  # ...and comes back, empty
        for client in (c for pair in clients for c in pair[:2]):
            assert await client.next_status(within=15) == {"type": "disconnect", "reason": "transport close"}
            await client.reconnected(within=15)

        # Right after the reconnection (the app has reloaded), every message is accepted and arrives live.
        for n in range(3):
            acks = await asyncio.gather(
                *(s.emit("message:send", send(c, f"after {n}")) for s, _, c in clients)
            )
            assert all(ack["ok"] for ack in acks), acks
            for _, receiver, _ in clients:
                assert (await receiver.inbox.expect("message:new", within=5))["body"] == f"after {n}"
    finally:
        for pair in clients:
            for client in pair[:2]:
                await client.close()


async def test_a_redis_that_stops_answering_gets_events_answered_service_unavailable(
    live_stack: LiveStack, own_redis: OwnRedis
) -> None:
    """Redis hung (SIGSTOP: connections open, no answers), not gone: every Redis command has a socket
    timeout, so a message is answered `service_unavailable` instead of never."""
    customer, _, conversation_id = await new_pair(live_stack.platform_url)
    client = JsClient()
    redis = own_redis.redis.proc
    assert redis is not None
    try:
        assert (await client.connect(own_redis.chat_url, customer.token))["type"] == "connect"
        assert (await client.emit("message:send", send(conversation_id, "before")))["ok"] is True
        os.kill(redis.pid, signal.SIGSTOP)
        hung = await client.emit("message:send", send(conversation_id, "while hung"))
        assert hung.get("error", {}).get("code") == "service_unavailable", hung
    finally:
        os.kill(redis.pid, signal.SIGCONT)
        await client.close()
