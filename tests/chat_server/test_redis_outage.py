"""Redis restarts under a chat-server instance: pub/sub keeps nothing, so live events published meanwhile are
lost. While Redis is away, events that need it are answered `service_unavailable`; once it is back and this
instance's own pub/sub listener receives again, the instance closes its sockets at the transport, the
official client reconnects by itself (and reloads over REST, as after any reconnection), and from then on
every message is delivered live."""

import shutil
import uuid
from pathlib import Path

import pytest

from scripts import stack
from scripts.processes import ManagedProcess, free_port, port_open
from tests.chat_server.clients import JsClient
from tests.chat_server.test_chat import new_pair, send
from tests.conftest import LiveStack, service_env

pytestmark = pytest.mark.e2e


def redis_server(port: int, log_dir: Path) -> ManagedProcess:
    return ManagedProcess(
        name="redis",
        argv=["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        ready=lambda: port_open(port),
        log_path=log_dir / f"redis-{port}.log",
    )


async def test_after_a_redis_restart_sockets_reconnect_and_every_message_is_live(
    live_stack: LiveStack, run_dir: Path
) -> None:
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server binary here: this test runs its own Redis to restart it")
    port = free_port()
    redis = redis_server(port, run_dir / "logs").start()
    env = {
        **service_env(live_stack.mongodb_uri, live_stack.db_name),
        "REDIS_URL": f"redis://127.0.0.1:{port}/0",
        "REDIS_CHANNEL": f"socketio-outage-{uuid.uuid4().hex[:8]}",
    }
    chat = stack.chat(free_port(), env, run_dir / "logs").start()
    customer, provider, conversation_id = await new_pair(live_stack.platform_url)
    sender, receiver = JsClient(), JsClient()
    try:
        url = f"http://127.0.0.1:{chat.argv[chat.argv.index('--port') + 1]}"
        for client, account in ((sender, customer), (receiver, provider)):
            assert (await client.connect(url, account.token, reconnect_ms=200))["type"] == "connect"
        assert (await sender.emit("message:send", send(conversation_id, "before")))["ok"] is True
        assert (await receiver.inbox.expect("message:new"))["body"] == "before"

        redis.stop()  # Redis goes away...
        during = await sender.emit("message:send", send(conversation_id, "during", "during"))
        assert during == {
            "ok": False,
            "error": {"code": "service_unavailable", "message": during["error"]["message"]},
        }, during
        redis = redis_server(port, run_dir / "logs").start()  # ...and comes back, empty
        for client in (sender, receiver):
            assert await client.next_status(within=15) == {"type": "disconnect", "reason": "transport close"}
            await client.reconnected(within=15)

        # Right after the reconnection (the app has reloaded), every message arrives live, in order.
        for n in range(3):
            ack = await sender.emit("message:send", send(conversation_id, f"after {n}"))
            assert ack["ok"] is True, ack
            assert (await receiver.inbox.expect("message:new", within=5))["body"] == f"after {n}"
    finally:
        await sender.close()
        await receiver.close()
        chat.stop()
        redis.stop()
