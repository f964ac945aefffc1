"""Two chat-server processes sharing the real Redis: rooms, presence and engagement cross instances."""

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import jwt
import pytest
import redis

from chat_server.state import RedisState
from scripts import stack
from scripts.processes import ManagedProcess, free_port
from shared_models.enums import Role
from tests.chat_server.clients import JsClient
from tests.chat_server.test_chat import new_account, new_pair, send
from tests.conftest import REDIS_URL, TEST_INTERNAL_TOKEN, LiveStack, service_env

pytestmark = pytest.mark.e2e


def redis_reachable() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except (OSError, redis.RedisError):
        return False


@dataclass
class Pair:
    a: str
    b: str


@pytest.fixture(scope="module")
def two_instances(live_stack: LiveStack, run_dir: Path) -> Iterator[Pair]:
    if not redis_reachable():
        pytest.skip(f"no Redis at {REDIS_URL}: the scale-out tests need a real one")
    channel = f"socketio-test-{uuid.uuid4().hex[:8]}"
    env = {
        **service_env(live_stack.mongodb_uri, live_stack.db_name),
        "REDIS_URL": REDIS_URL,
        # Each run its own Socket.IO channel, so parallel or earlier runs never cross-talk.
        "REDIS_CHANNEL": channel,
    }
    procs: list[ManagedProcess] = []
    try:
        for _ in range(2):
            procs.append(stack.chat(free_port(), env, run_dir / "logs").start())
        yield Pair(*(f"http://127.0.0.1:{p.argv[p.argv.index('--port') + 1]}" for p in procs))
    finally:
        for proc in procs:
            proc.stop()


async def test_sender_on_one_instance_reaches_receiver_on_the_other(
    two_instances: Pair, live_stack: LiveStack
) -> None:
    customer, provider, conversation_id = await new_pair(live_stack.platform_url)
    alice, bob = JsClient(), JsClient()
    try:
        assert (await alice.connect(two_instances.a, customer.token))["type"] == "connect"
        assert (await bob.connect(two_instances.b, provider.token))["type"] == "connect"
        # presence crosses instances both ways: Alice (A) hears Bob (B) come online, Bob learns Alice is on
        assert await alice.inbox.expect("presence:update") == {"userId": provider.id, "online": True}
        assert await bob.inbox.expect("presence:update") == {"userId": customer.id, "online": True}
        for client in (alice, bob):
            assert (await client.emit("conversation:join", {"conversationId": conversation_id}))["ok"] is True
        for i in range(3):
            assert (await alice.emit("message:send", send(conversation_id, f"a{i}")))["ok"] is True
        assert [(await bob.inbox.expect("message:new"))["body"] for _ in range(3)] == ["a0", "a1", "a2"]
        reply = await bob.emit("message:send", send(conversation_id, "from b"))
        assert (await alice.inbox.expect("message:new"))["id"] == reply["message"]["id"]
        await bob.emit("typing", {"conversationId": conversation_id, "isTyping": True})
        assert (await alice.inbox.expect("typing:update"))["userId"] == provider.id
        await bob.close()
        # what Bob's socket held is withdrawn, across instances: his typing, then his presence
        assert (await alice.inbox.expect("typing:update"))["isTyping"] is False
        assert await alice.inbox.expect("presence:update") == {"userId": provider.id, "online": False}
    finally:
        await alice.close()
        await bob.close()


async def test_a_disconnect_asked_of_one_instance_drops_sockets_on_the_other(
    two_instances: Pair, live_stack: LiveStack
) -> None:
    async with httpx.AsyncClient(base_url=live_stack.platform_url, timeout=20) as rest:
        customer = await new_account(rest, Role.customer)
    on_b = JsClient()
    try:
        assert (await on_b.connect(two_instances.b, customer.token))["type"] == "connect"
        jti = jwt.decode(customer.token, options={"verify_signature": False})["jti"]
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(
                f"{two_instances.a}/internal/sessions/{jti}/disconnect",
                headers={"X-Internal-Token": TEST_INTERNAL_TOKEN},
            )
        assert response.json() == {"disconnected": 1}
        status = await asyncio.wait_for(on_b.status.get(), 10)
        assert status == {"type": "disconnect", "reason": "io server disconnect"}
    finally:
        await on_b.close()


async def test_a_killed_instances_sockets_stop_counting_and_live_ones_are_kept_alive(
    two_instances: Pair, live_stack: LiveStack, run_dir: Path
) -> None:
    channel = f"socketio-ttl-{uuid.uuid4().hex[:8]}"
    env = {
        **service_env(live_stack.mongodb_uri, live_stack.db_name),
        "REDIS_URL": REDIS_URL,
        "REDIS_CHANNEL": channel,
        "PRESENCE_TTL_SECONDS": "1",
    }
    instance = stack.chat(free_port(), env, run_dir / "logs").start()
    reader = RedisState(REDIS_URL, prefix=f"chat:{channel}", ttl=1)
    customer, _, conversation_id = await new_pair(live_stack.platform_url)
    client = JsClient()
    try:
        url = f"http://127.0.0.1:{instance.argv[instance.argv.index('--port') + 1]}"
        assert (await client.connect(url, customer.token))["type"] == "connect"
        assert (await client.emit("conversation:join", {"conversationId": conversation_id}))["ok"] is True
        assert await reader.is_online(customer.id) and await reader.is_engaged(conversation_id, customer.id)

        key = reader._online(customer.id)
        first = (await reader.redis.zrange(key, 0, -1, withscores=True))[0][1]  # type: ignore[misc]

        async def refreshed() -> bool:
            scores = await reader.redis.zrange(key, 0, -1, withscores=True)  # type: ignore[misc]
            return bool(scores) and scores[0][1] > first

        await wait_for(refreshed, "the heartbeat to extend the live socket's expiry")
        instance.kill()  # SIGKILL: no disconnect handler runs, nothing is cleaned up

        async def gone() -> bool:
            return not await reader.is_online(customer.id) and not await reader.is_engaged(
                conversation_id, customer.id
            )

        await wait_for(gone, "the dead instance's socket to stop counting")
    finally:
        await client.close()
        instance.stop()
        await reader.close()


async def wait_for(condition: Callable[[], Awaitable[bool]], what: str, within: float = 15) -> None:
    """Poll state in Redis (another process's doing: there is no event to await) until it holds."""
    try:
        async with asyncio.timeout(within):
            while not await condition():  # noqa: ASYNC110
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def test_both_participants_racing_through_two_instances_every_receiver_sees_the_stored_order(
    two_instances: Pair, live_stack: LiveStack
) -> None:
    """The customer on A (and a second device on B) and the provider on B send bursts at the same moment:
    each instance stores its own messages, and still every receiver gets message:new in seq order."""
    customer, provider, conversation_id = await new_pair(live_stack.platform_url)
    phone, tablet, desk = JsClient(), JsClient(), JsClient()
    try:
        for client, url, account in ((phone, two_instances.a, customer), (tablet, two_instances.b, customer)):
            assert (await client.connect(url, account.token))["type"] == "connect"
        assert (await desk.connect(two_instances.b, provider.token))["type"] == "connect"
        bursts = [
            client.emit_all([("message:send", send(conversation_id, f"{name} {i}")) for i in range(12)])
            for client, name in ((phone, "phone"), (tablet, "tablet"), (desk, "desk"))
        ]
        acks = [ack for burst in await asyncio.gather(*bursts) for ack in burst]
        assert all(a["ok"] for a in acks), acks
        everything = sorted(a["message"]["seq"] for a in acks)
        for client, own in ((phone, "phone"), (tablet, "tablet"), (desk, "desk")):
            expected = sorted(a["message"]["seq"] for a in acks if not a["message"]["body"].startswith(own))
            seen = [(await client.inbox.expect("message:new"))["seq"] for _ in expected]
            assert seen == expected, (own, seen)  # every other message, each once, in seq order
        assert len(set(everything)) == len(everything) == 36
    finally:
        for client in (phone, tablet, desk):
            await client.close()
