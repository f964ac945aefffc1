"""Ordered delivery across instances (the real Redis): whatever order instances announce a conversation's
seqs in, each message is published once, after all before it; a seq never stored holds nothing up; one that
never comes is skipped after a while."""

import asyncio
import json
import time
import uuid
from typing import Any

import pytest
import redis.asyncio as aioredis

from chat_server.ordered import Announced, OrderedDelivery
from tests.chat_server.test_scale_out import redis_reachable
from tests.conftest import REDIS_URL

CONVERSATION = "c" * 24


def emit(body: str) -> dict[str, Any]:
    return OrderedDelivery.emit("message:new", {"body": body}, ["user:x"], None)


async def test_seqs_announced_out_of_order_are_published_in_order_once() -> None:
    if not redis_reachable():
        pytest.skip(f"no Redis at {REDIS_URL}: the ordered delivery tests need a real one")
    channel, prefix = f"test-ordered-{uuid.uuid4().hex[:8]}", f"chat:test-ordered-{uuid.uuid4().hex[:8]}"
    a = OrderedDelivery(aioredis.Redis.from_url(REDIS_URL, decode_responses=True), prefix, channel, json)
    b = OrderedDelivery(aioredis.Redis.from_url(REDIS_URL, decode_responses=True), prefix, channel, json)
    listener = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    pubsub = listener.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(channel)
    await a.redis.set(f"{prefix}:delivered:{CONVERSATION}", 0)  # as the sequencer starts it: nothing yet

    async def published(n: int) -> list[str]:
        bodies: list[str] = []
        async with asyncio.timeout(10):
            while len(bodies) < n:
                message = await pubsub.get_message(timeout=1)
                if message is not None:
                    data = json.loads(message["data"])
                    assert data["method"] == "emit" and data["host_id"] == "ordered-delivery"
                    bodies.append(data["data"][0]["body"])
        return bodies

    try:
        await b.announce([Announced(CONVERSATION, 2, emit("two")), Announced(CONVERSATION, 3, None)])
        await a.announce([Announced(CONVERSATION, 1, emit("one"))])  # the instance that drew 1 is slower
        await b.announce([Announced(CONVERSATION, 4, emit("four"))])
        assert await published(3) == ["one", "two", "four"]  # 3 was a resend: nothing, and no wait
        await a.announce([Announced(CONVERSATION, 6, emit("six"))])  # 5 never comes (its instance died)
        await a.redis.zadd(f"{prefix}:stalled", {CONVERSATION: int((time.time() - 60) * 1000)})
        assert await a.unstall() == 1
        assert await published(1) == ["six"]
        await b.announce([Announced(CONVERSATION, 5, emit("five, late"))])  # late: out of order, not lost
        assert await published(1) == ["five, late"]
        await a.announce([Announced(CONVERSATION, 7, emit("seven"))])
        assert await published(1) == ["seven"]  # the next thing published: nothing came twice
    finally:
        await pubsub.aclose()
        for client in (a.redis, b.redis, listener):
            await client.aclose()
