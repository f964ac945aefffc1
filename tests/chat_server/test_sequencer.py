"""A conversation's sequence: numbers in queue order, one total order whoever draws them, and a writer
whose number was taken (a lost counter, a second writer) draws again instead of storing out of order."""

import asyncio
import uuid
from collections.abc import Sequence

import httpx
import pytest
import redis.asyncio as aioredis

from chat_server.committer import Committed, MessageCommitter
from chat_server.sequencer import MemorySequencer, RedisSequencer
from shared_models.clock import ManualClock
from shared_models.documents import Conversation, Message
from shared_models.enums import Role
from shared_models.services import conversations
from shared_models.services.conversations import Members, Outgoing
from tests.chat_server.test_scale_out import redis_reachable
from tests.conftest import REDIS_URL
from tests.factories import register


async def _members(api: httpx.AsyncClient, clock: ManualClock) -> Members:
    customer = await register(api, Role.customer)
    provider = await register(api, Role.provider)
    conversation, _ = await conversations.start(
        customer.id, provider.id, provider.body["provider"]["id"], None, clock.now()
    )
    return Members.of(conversation)


def _outgoing(members: Members, n: int, clock: ManualClock) -> list[Outgoing]:
    return [
        Outgoing(members, members.customer_id, f"m{i}", [], uuid.uuid4().hex, clock.now()) for i in range(n)
    ]


async def test_memory_numbers_continue_the_stored_sequence_in_queue_order(
    api: httpx.AsyncClient, clock: ManualClock
) -> None:
    members = await _members(api, clock)
    stored, _ = await conversations.send(
        await _conversation(members), members.customer_id, "first", [], "c0", clock.now()
    )
    assert stored.seq == 1
    batch = _outgoing(members, 5, clock)
    await MemorySequencer().assign(batch)
    assert [o.seq for o in batch] == [2, 3, 4, 5, 6]


async def _conversation(members: Members) -> Conversation:
    found = await Conversation.get(members.id)
    assert found is not None
    return found


async def test_a_stale_counter_collides_and_the_message_is_stored_after_what_others_wrote(
    api: httpx.AsyncClient, clock: ManualClock
) -> None:
    """Another writer stored seq 1 and 2 behind this process's back: the committer's numbers collide, it
    reloads the counter and stores its messages after them, in their queue order."""
    members = await _members(api, clock)
    sequencer = MemorySequencer()
    sequencer.last[members.id] = 0  # what this process believes
    for i in range(2):  # another writer
        await conversations.send(
            await _conversation(members), members.provider_user_id, f"o{i}", [], f"o{i}", clock.now()
        )
    delivered: list[int] = []

    async def deliver(drawn: Sequence[Committed]) -> None:
        delivered.extend(c.out.seq for c in drawn if c.written.created)

    async def nothing(_: Sequence[Committed]) -> None:
        return None

    async def unblocked(ids: Sequence[str]) -> dict[str, bool]:
        return dict.fromkeys(ids, False)

    committer = MessageCommitter(sequencer, unblocked, deliver, nothing)
    running = asyncio.create_task(committer.run())
    try:
        batch = _outgoing(members, 3, clock)
        results = await asyncio.gather(*(committer.submit(out, "sid") for out in batch))
    finally:
        running.cancel()
    assert all(r.written.created for r in results)
    assert delivered == [3, 4, 5]
    stored = await Message.find({"conversation_id": members.id}).sort("seq").to_list()
    assert [m.body for m in stored] == ["o0", "o1", "m0", "m1", "m2"]


async def test_instances_drawing_at_once_from_redis_get_one_total_order(
    api: httpx.AsyncClient, clock: ManualClock
) -> None:
    if not redis_reachable():
        pytest.skip(f"no Redis at {REDIS_URL}: the Redis sequencer tests need a real one")
    members = await _members(api, clock)
    prefix = f"test-seq-{uuid.uuid4().hex[:8]}"
    clients = [aioredis.Redis.from_url(REDIS_URL, decode_responses=True) for _ in range(4)]
    instances = [RedisSequencer(c, prefix) for c in clients]
    batches = [_outgoing(members, 7, clock) for _ in range(12)]
    try:
        await asyncio.gather(*(instances[i % 4].assign(batch) for i, batch in enumerate(batches)))
        numbers = [o.seq for batch in batches for o in batch]
        assert sorted(numbers) == list(range(1, 85))  # every number once, none skipped
        for batch in batches:  # each batch numbered in its own (queue) order
            assert [o.seq for o in batch] == sorted(o.seq for o in batch)
        # The counter is lost (Redis restarted): the next draw starts after what is stored, not at 1.
        await conversations.send(
            await _conversation(members), members.customer_id, "stored", [], "s1", clock.now()
        )
        await clients[0].delete(f"{prefix}:seq:{members.id}")
        again = _outgoing(members, 2, clock)
        await instances[1].assign(again)
        assert [o.seq for o in again] == [2, 3]  # the only stored message has seq 1
        # A counter behind what is stored is raised to it, never lowered.
        await instances[2].forget({members.id})
        after = _outgoing(members, 1, clock)
        await instances[3].assign(after)
        assert after[0].seq == 4
    finally:
        for client in clients:
            await client.aclose()
