"""A chat-server instance that dies without a word: a live instance announces what its sockets held as ended
(typing, presence), once its entries expire."""

import uuid
from pathlib import Path

import pytest

from scripts import stack
from scripts.processes import ManagedProcess, free_port
from tests.chat_server.clients import JsClient
from tests.chat_server.test_chat import new_pair
from tests.chat_server.test_scale_out import redis_reachable
from tests.conftest import REDIS_URL, LiveStack, service_env

pytestmark = pytest.mark.e2e


def _url(proc: ManagedProcess) -> str:
    return f"http://127.0.0.1:{proc.argv[proc.argv.index('--port') + 1]}"


async def test_a_killed_instances_typing_and_presence_are_withdrawn_by_a_live_one(
    live_stack: LiveStack, run_dir: Path
) -> None:
    if not redis_reachable():
        pytest.skip(f"no Redis at {REDIS_URL}: the scale-out tests need a real one")
    env = {
        **service_env(live_stack.mongodb_uri, live_stack.db_name),
        "REDIS_URL": REDIS_URL,
        "REDIS_CHANNEL": f"socketio-death-{uuid.uuid4().hex[:8]}",
        "PRESENCE_TTL_SECONDS": "1",  # heartbeats (and reaping) every third of a second
    }
    survivor = stack.chat(free_port(), env, run_dir / "logs").start()
    victim = stack.chat(free_port(), env, run_dir / "logs").start()
    customer, provider, conversation_id = await new_pair(live_stack.platform_url)
    watcher, typist = JsClient(), JsClient()
    try:
        assert (await watcher.connect(_url(survivor), provider.token))["type"] == "connect"
        assert (await typist.connect(_url(victim), customer.token))["type"] == "connect"
        assert await watcher.inbox.expect("presence:update") == {"userId": customer.id, "online": True}
        ack = await typist.emit("typing", {"conversationId": conversation_id, "isTyping": True})
        assert ack == {"ok": True}
        assert (await watcher.inbox.expect("typing:update"))["isTyping"] is True

        victim.kill()  # SIGKILL: no disconnect handler runs on the victim, nothing is cleaned up there

        withdrawn = await watcher.inbox.expect("typing:update", within=15)
        assert withdrawn == {"conversationId": conversation_id, "userId": customer.id, "isTyping": False}
        assert await watcher.inbox.expect("presence:update", within=15) == {
            "userId": customer.id,
            "online": False,
        }
    finally:
        await watcher.close()
        await typist.close()
        victim.stop()
        survivor.stop()
