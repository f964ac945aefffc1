"""The chat server's conversation directory: membership cached, block state never trusted past a change."""

import uuid

import httpx
import pytest
import redis.asyncio as aioredis

from chat_server.directory import ConversationDirectory, Generations
from platform_api.config import Settings
from platform_api.realtime import RealtimeClient
from scripts.processes import free_port
from shared_models.clock import ManualClock
from shared_models.documents import Conversation
from shared_models.enums import Role
from shared_models.runtime.block_generations import chat_prefix
from shared_models.services import conversations
from tests.chat_server.test_scale_out import redis_reachable
from tests.conftest import REDIS_URL
from tests.factories import Account, register


async def started(api: httpx.AsyncClient, clock: ManualClock) -> tuple[Account, Account, Conversation]:
    """A new customer and provider, and their conversation (started directly, as the platform does)."""
    customer = await register(api, Role.customer)
    provider = await register(api, Role.provider)
    conversation, _ = await conversations.start(
        customer.id, provider.id, provider.body["provider"]["id"], None, clock.now()
    )
    return customer, provider, conversation


async def test_a_change_event_never_hands_back_an_older_block_state(
    api: httpx.AsyncClient, clock: ManualClock
) -> None:
    customer, provider, conversation = await started(api, clock)
    cid = str(conversation.id)
    directory = ConversationDirectory()
    directory.watching = True  # as while the change stream is open
    assert await directory.blocked_now([cid]) == {cid: False}

    await conversations.set_blocked(conversation, provider.id, True)
    directory.changed(cid)  # the platform's call
    assert await directory.blocked_now([cid]) == {cid: True}
    # An event from before the block, applied late (the engine's events carry the document as it was):
    # the state is forgotten, not replaced, so the next question reads the database again.
    stale = {"customer_blocked": False, "provider_blocked": False}
    directory.changed(cid, stale)
    assert directory.entries[cid].blocked is None
    assert await directory.blocked_now([cid]) == {cid: True}
    # An event that shows the known state (the conversation's activity moved) keeps the cache.
    directory.changed(cid, {"customer_blocked": False, "provider_blocked": True})
    assert directory.entries[cid].blocked is True
    # Membership is answered for participants only.
    assert await directory.members(cid, customer.id) is not None
    assert await directory.members(cid, "f" * 24) is None
    assert await directory.members("not-an-id", customer.id) is None


async def test_a_bumped_generation_makes_every_instance_read_the_block_again(
    api: httpx.AsyncClient, clock: ManualClock, settings: Settings
) -> None:
    """Two instances' directories over the real Redis, no change stream running: what makes a block
    immediate on an instance the platform never called is the generation the platform bumps."""
    if not redis_reachable():
        pytest.skip(f"no Redis at {REDIS_URL}: the generation tests need a real one")
    _, provider, conversation = await started(api, clock)
    cid = str(conversation.id)
    channel = f"test-generations-{uuid.uuid4().hex[:8]}"
    redis = aioredis.Redis.from_url(REDIS_URL)
    elsewhere = ConversationDirectory(Generations(redis, chat_prefix(channel)))
    elsewhere.watching = True  # as if its change stream were open (it is not: nothing tells it)
    assert await elsewhere.blocked_now([cid]) == {cid: False}

    await conversations.set_blocked(conversation, provider.id, True)
    assert await elsewhere.blocked_now([cid]) == {cid: False}  # nothing told it: the cache answers
    # What the platform does after storing a block, reaching no chat server (its internal URL is dead).
    platform = RealtimeClient(
        settings.model_copy(
            update={
                "redis_url": REDIS_URL,
                "redis_channel": channel,
                "chat_internal_url": f"http://127.0.0.1:{free_port()}",
            }
        )
    )
    try:
        await platform.conversation_changed(cid)
    finally:
        await platform.aclose()
    assert await elsewhere.blocked_now([cid]) == {cid: True}
    await redis.aclose()


async def test_a_generation_lost_with_redis_never_makes_an_old_cached_state_trusted_again(
    api: httpx.AsyncClient, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Generations are tokens, never counted again from zero: an instance caches "unblocked" after an
    unblock; Redis restarts empty (the key is gone); both sides block (two bumps): the cached state is not
    trusted. A state read while no generation was known is trusted for a bounded time only."""
    if not redis_reachable():
        pytest.skip(f"no Redis at {REDIS_URL}: the generation tests need a real one")
    customer, provider, conversation = await started(api, clock)
    cid = str(conversation.id)
    prefix = chat_prefix(f"test-generations-{uuid.uuid4().hex[:8]}")
    redis = aioredis.Redis.from_url(REDIS_URL)
    generations = Generations(redis, prefix)
    elsewhere = ConversationDirectory(generations)
    elsewhere.watching = True  # nothing but the generations tells it
    try:
        for blocked in (True, False):  # block, unblock: two bumps
            await conversations.set_blocked(conversation, provider.id, blocked)
            await generations.bump(cid)
            assert await elsewhere.blocked_now([cid]) == {cid: blocked}
        await redis.delete(*await redis.keys(f"{prefix}:*"))  # what a restart leaves: nothing
        for who in (customer.id, provider.id):
            await conversations.set_blocked(conversation, who, True)
            await generations.bump(cid)
        assert await elsewhere.blocked_now([cid]) == {cid: True}

        # Read while no generation is known (the key gone), then changed and bumped, and that bump lost too:
        # the state read at "unknown" is trusted only for TRUST_UNKNOWN_SECONDS.
        await redis.delete(*await redis.keys(f"{prefix}:*"))
        assert await elsewhere.blocked_now([cid]) == {cid: True}
        for who in (customer.id, provider.id):
            await conversations.set_blocked(conversation, who, False)
        monkeypatch.setattr("chat_server.directory.TRUST_UNKNOWN_SECONDS", 0.0)
        assert await elsewhere.blocked_now([cid]) == {cid: False}
    finally:
        await redis.aclose()
