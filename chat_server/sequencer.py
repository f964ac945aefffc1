"""Places in a conversation: each message gets the conversation's next `seq`, in commit-queue order.

One instance (no Redis): the counters live in this process, loaded from the highest stored seq the first
time a conversation is seen. Several instances (REDIS_URL): the counters live in Redis (`INCRBY`), so every
instance draws from the same sequence. Either way the unique (conversation_id, seq) index is the arbiter: a
writer whose number was taken (a counter lost with Redis, a second writer) gets a collision back, forgets
its counter and draws again; the stored order stays one total order per conversation.
"""

import asyncio
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol

from redis.asyncio import Redis

from shared_models.services.conversations import Outgoing, last_seq

COUNTERS_KEPT = 100_000  # conversations whose counter one process keeps (least recently used dropped)
REDIS_COUNTER_TTL_SECONDS = 30 * 24 * 3600  # an idle conversation's counter is reloaded from the database

# For each key: INCRBY it if it exists (refreshing its expiry), else answer -1 (load it first).
_DRAW = """
local out = {}
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    out[i] = redis.call('INCRBY', key, ARGV[i])
    redis.call('EXPIRE', key, ARGV[#KEYS + 1])
  else
    out[i] = -1
  end
end
return out
"""


_RAISE = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
"""


class Sequencer(Protocol):
    async def assign(self, batch: Sequence[Outgoing]) -> None:
        """Set `seq` on every message, increasing in batch order within each conversation."""

    async def forget(self, conversation_ids: set[str]) -> None:
        """Counters that proved stale (a collision): bring them up to the highest stored seq."""


def _counts(batch: Sequence[Outgoing]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for out in batch:
        counts[out.members.id] = counts.get(out.members.id, 0) + 1
    return counts


def _number(batch: Sequence[Outgoing], last: dict[str, int], counts: dict[str, int]) -> None:
    """Given each conversation's seq after the batch, number the batch's messages in order."""
    next_seq = {c: last[c] - counts[c] + 1 for c in counts}
    for out in batch:
        out.seq = next_seq[out.members.id]
        next_seq[out.members.id] += 1


class MemorySequencer:
    def __init__(self) -> None:
        self.last: OrderedDict[str, int] = OrderedDict()

    async def assign(self, batch: Sequence[Outgoing]) -> None:
        counts = _counts(batch)
        unknown = [c for c in counts if c not in self.last]
        for conversation_id, stored in zip(
            unknown, await asyncio.gather(*(last_seq(c) for c in unknown)), strict=True
        ):
            self.last.setdefault(conversation_id, stored)
        after: dict[str, int] = {}
        for conversation_id, n in counts.items():
            self.last[conversation_id] += n
            self.last.move_to_end(conversation_id)
            after[conversation_id] = self.last[conversation_id]
        while len(self.last) > COUNTERS_KEPT:
            self.last.popitem(last=False)
        _number(batch, after, counts)

    async def forget(self, conversation_ids: set[str]) -> None:
        for conversation_id in conversation_ids:
            self.last.pop(conversation_id, None)


class RedisSequencer:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self.draw = redis.register_script(_DRAW)
        self.raise_to = redis.register_script(_RAISE)

    def _key(self, conversation_id: str) -> str:
        return f"{self.prefix}:seq:{conversation_id}"

    async def assign(self, batch: Sequence[Outgoing]) -> None:
        counts = _counts(batch)
        after: dict[str, int] = {}
        pending = dict(counts)
        while pending:
            ids = list(pending)
            drawn = await self.draw(
                keys=[self._key(c) for c in ids], args=[*(pending[c] for c in ids), REDIS_COUNTER_TTL_SECONDS]
            )
            missing = []
            for conversation_id, value in zip(ids, drawn, strict=True):
                if int(value) >= 0:
                    after[conversation_id] = int(value)
                    del pending[conversation_id]
                else:
                    missing.append(conversation_id)
            # First use (or the counter was lost): start it at the highest stored seq; SET NX, so instances
            # loading it at once agree on one start.
            stored = await asyncio.gather(*(last_seq(c) for c in missing))
            if missing:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for conversation_id, value in zip(missing, stored, strict=True):
                        pipe.set(self._key(conversation_id), value, nx=True, ex=REDIS_COUNTER_TTL_SECONDS)
                        # The ordered delivery starts after what is stored too (chat_server.ordered).
                        pipe.set(
                            f"{self.prefix}:delivered:{conversation_id}",
                            value,
                            nx=True,
                            ex=REDIS_COUNTER_TTL_SECONDS,
                        )
                    await pipe.execute()
        _number(batch, after, counts)

    async def forget(self, conversation_ids: set[str]) -> None:
        # The counter fell behind what is stored (it was lost and reloaded while a number was in flight, or
        # a message was stored outside the chat server): raise it to the highest stored seq, never lower it.
        for conversation_id in conversation_ids:
            await self.raise_to(keys=[self._key(conversation_id)], args=[await last_seq(conversation_id)])
