"""The shared real-time state, in memory and in the real Redis: what a socket holds is withdrawn when it goes,
with one device or two, and when its whole instance dies."""

import time
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from chat_server.state import MemoryState, RedisState, StateStore, Withdrawn
from shared_models.services.notifications import Presence
from tests.chat_server.test_scale_out import redis_reachable
from tests.conftest import REDIS_URL

USER, OTHER = "a" * 24, "b" * 24
CONVERSATION, ELSEWHERE = "c" * 24, "d" * 24


@pytest.fixture(params=["memory", "redis"])
async def state(request: pytest.FixtureRequest) -> AsyncIterator[StateStore]:
    if request.param == "memory":
        yield MemoryState()
        return
    if not redis_reachable():
        pytest.skip(f"no Redis at {REDIS_URL}: the Redis state tests need a real one")
    store = RedisState(REDIS_URL, prefix=f"test-state-{uuid.uuid4().hex[:8]}", ttl=30)
    yield store
    await store.close()


async def test_typing_ends_with_the_last_typing_device(state: StateStore) -> None:
    for sid in ("phone", "laptop"):
        await state.add_socket(USER, sid, "session")
        await state.start_typing(CONVERSATION, USER, sid)
    # one device stops: the user still types on the other, so nothing is withdrawn
    assert await state.stop_typing(CONVERSATION, USER, "phone") is False
    assert await state.stop_typing(CONVERSATION, USER, "phone") is False  # it was not typing any more
    gone = await state.remove_socket(USER, "laptop", "session")
    assert gone.stopped_typing == {USER: [CONVERSATION]} and gone.offline == []
    gone = await state.remove_socket(USER, "phone", "session")
    assert gone.stopped_typing == {} and gone.offline == [USER]


async def test_a_socket_going_withdraws_its_typing_and_engagement_but_not_another_devices(
    state: StateStore,
) -> None:
    await state.add_socket(USER, "phone", "s1")
    await state.add_socket(USER, "laptop", "s2")
    await state.start_typing(CONVERSATION, USER, "phone")
    await state.start_typing(ELSEWHERE, USER, "laptop")
    await state.engage(CONVERSATION, USER, "phone")
    assert await state.presence_many([(USER, CONVERSATION), (USER, ELSEWHERE), (OTHER, CONVERSATION)]) == [
        Presence(online=True, engaged=True),
        Presence(online=True, engaged=False),
        Presence(online=False, engaged=False),
    ]
    gone = await state.remove_socket(USER, "phone", "s1")
    assert gone.stopped_typing == {USER: [CONVERSATION]} and gone.offline == []
    assert await state.presence_many([(USER, CONVERSATION)]) == [Presence(online=True, engaged=False)]
    assert await state.sockets_of_session("s1") == [] and await state.sockets_of_session("s2") == ["laptop"]


async def test_leaving_then_stopping_typing_withdraws_once(state: StateStore) -> None:
    await state.add_socket(USER, "phone", "s1")
    await state.start_typing(CONVERSATION, USER, "phone")
    assert await state.stop_typing(CONVERSATION, USER, "phone") is True
    gone = await state.remove_socket(USER, "phone", "s1")
    assert gone.stopped_typing == {} and gone.offline == [USER]


async def test_a_dead_instances_sockets_are_withdrawn_once_by_a_live_one() -> None:
    if not redis_reachable():
        pytest.skip(f"no Redis at {REDIS_URL}: the Redis state tests need a real one")
    prefix = f"test-reap-{uuid.uuid4().hex[:8]}"
    dead, alive, late = (RedisState(REDIS_URL, prefix=prefix, ttl=30) for _ in range(3))
    try:
        await dead.add_socket(USER, "phone", "s1")
        await dead.start_typing(CONVERSATION, USER, "phone")
        await dead.engage(CONVERSATION, USER, "phone")
        await alive.add_socket(OTHER, "desk", "s2")
        await alive.start_typing(ELSEWHERE, OTHER, "desk")
        assert await alive.reap() == Withdrawn()  # nobody is dead: nothing withdrawn
        # The instance dies without a word: its entries expire (its heartbeat stops); here, its register
        # entry and its sockets' expiries are moved into the past, as time would.
        raw = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
        past = time.time() - 1
        await raw.zadd(f"{prefix}:instances", {dead.host: past})
        for key in (f"{prefix}:online:{USER}", f"{prefix}:typing:{CONVERSATION}:{USER}"):
            await raw.zadd(key, {"phone": past})
        gone = await alive.reap()
        assert gone.offline == [USER] and gone.stopped_typing == {USER: [CONVERSATION]}
        assert await late.reap() == Withdrawn()  # claimed once: another live instance finds nothing
        assert not await alive.is_online(USER) and not await alive.is_engaged(CONVERSATION, USER)
        assert await alive.is_online(OTHER)  # the live instance's own sockets are untouched
        assert not await raw.exists(f"{prefix}:instance:{dead.host}")
        await raw.aclose()
    finally:
        for store in (dead, alive, late):
            await store.close()


async def test_after_redis_loses_its_data_a_heartbeat_restores_what_reaping_needs() -> None:
    if not redis_reachable():
        pytest.skip(f"no Redis at {REDIS_URL}: the Redis state tests need a real one")
    prefix = f"test-restart-{uuid.uuid4().hex[:8]}"
    dying, alive = (RedisState(REDIS_URL, prefix=prefix, ttl=30) for _ in range(2))
    raw = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        await dying.add_socket(USER, "phone", "s1")
        await dying.start_typing(CONVERSATION, USER, "phone")
        async for key in raw.scan_iter(f"{prefix}:*"):  # Redis restarted without persistence
            await raw.delete(key)
        await dying.heartbeat()  # the instance lives on and keeps beating
        past = time.time() - 1  # then it dies: its entries expire
        await raw.zadd(f"{prefix}:instances", {dying.host: past})
        for key in (f"{prefix}:online:{USER}", f"{prefix}:typing:{CONVERSATION}:{USER}"):
            await raw.zadd(key, {"phone": past})
        gone = await alive.reap()
        assert gone.offline == [USER] and gone.stopped_typing == {USER: [CONVERSATION]}
    finally:
        await raw.aclose()
        for store in (dying, alive):
            await store.close()
