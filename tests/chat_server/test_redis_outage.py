"""Redis restarts under a chat-server instance: pub/sub keeps nothing, so live events published meanwhile are
lost; once Redis is back, the instance closes its sockets at the transport, and the official client
reconnects by itself (and reloads over REST, as after any reconnection)."""

import shutil
import uuid
from pathlib import Path

import pytest

from scripts import stack
from scripts.processes import ManagedProcess, free_port, port_open
from tests.chat_server.clients import JsClient
from tests.chat_server.test_chat import new_pair
from tests.conftest import LiveStack, service_env

pytestmark = pytest.mark.e2e


def redis_server(port: int, log_dir: Path) -> ManagedProcess:
    return ManagedProcess(
        name="redis",
        argv=["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        ready=lambda: port_open(port),
        log_path=log_dir / f"redis-{port}.log",
    )


async def test_sockets_reconnect_after_redis_comes_back(live_stack: LiveStack, run_dir: Path) -> None:
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
    customer, _, _ = await new_pair(live_stack.platform_url)
    client = JsClient()
    try:
        url = f"http://127.0.0.1:{chat.argv[chat.argv.index('--port') + 1]}"
        assert (await client.connect(url, customer.token, reconnect_ms=200))["type"] == "connect"
        redis.stop()  # Redis goes away...
        redis = redis_server(port, run_dir / "logs").start()  # ...and comes back, empty
        dropped = await client.next_status(within=15)
        assert dropped == {"type": "disconnect", "reason": "transport close"}, dropped
        await client.reconnected(within=15)
    finally:
        await client.close()
        chat.stop()
        redis.stop()
