"""`message:new` in a conversation's `seq` order on every instance (with REDIS_URL).

Each instance numbers and stores its own messages, so two instances writing to one conversation at the same
moment would otherwise each publish theirs as soon as they are stored, and a receiver could see seq 12
before 11. Instead every instance hands a batch's seqs to one Redis script per conversation: the script
keeps the conversation's delivery cursor (the highest seq published) and a hold of what came early, and
publishes, in order, every message whose predecessors are all published, on Socket.IO's own channel (so
every instance, this one too, emits it to its sockets: python-socketio's Redis manager reads it as one of
its own emits). A seq drawn but not stored (a resend, a refusal, a clash) is announced empty, so nothing
waits for it. If a seq never comes (its instance died between numbering and delivering), the stall is
broken after STALL_SECONDS by skipping it (the message, if stored, is in REST history).
"""

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

STALL_SECONDS = 2.0
KEPT_SECONDS = 30 * 24 * 3600  # as long as the conversation's seq counter (chat_server.sequencer)
SENDER = "ordered-delivery"  # the publisher named in the messages: never an instance, so all emit them

_DELIVER = """
-- KEYS: cursor, held (hash seq -> payload, '' for nothing to publish), stalled (zset conversation -> since)
-- ARGV: channel, conversation id, now (ms), ttl (s), force ('1': skip what is missing), then seq, payload...
local cursor = tonumber(redis.call('GET', KEYS[1]) or '-1')
local published = 0
for i = 6, #ARGV, 2 do
  local seq = tonumber(ARGV[i])
  local payload = ARGV[i + 1]
  if cursor >= 0 and seq <= cursor then
    -- Late (a cold cursor, or after a skipped stall): published out of order rather than never.
    if payload ~= '' then
      redis.call('PUBLISH', ARGV[1], payload)
      published = published + 1
    end
  elseif payload ~= '' then
    redis.call('HSET', KEYS[2], seq, payload)
  else
    redis.call('HSETNX', KEYS[2], seq, '')
  end
end
local function lowest()
  local low = nil
  for _, key in ipairs(redis.call('HKEYS', KEYS[2])) do
    local v = tonumber(key)
    if low == nil or v < low then low = v end
  end
  return low
end
if cursor < 0 or ARGV[5] == '1' then
  local low = lowest()
  if low ~= nil and (cursor < 0 or low > cursor + 1) then cursor = low - 1 end
end
local start = cursor
while true do
  local nxt = redis.call('HGET', KEYS[2], cursor + 1)
  if not nxt then break end
  redis.call('HDEL', KEYS[2], cursor + 1)
  if nxt ~= '' then
    redis.call('PUBLISH', ARGV[1], nxt)
    published = published + 1
  end
  cursor = cursor + 1
end
if cursor >= 0 then redis.call('SET', KEYS[1], cursor, 'EX', ARGV[4]) end
if redis.call('HLEN', KEYS[2]) > 0 then
  redis.call('EXPIRE', KEYS[2], ARGV[4])
  if cursor > start then
    redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
  else
    redis.call('ZADD', KEYS[3], 'NX', ARGV[3], ARGV[2])
  end
else
  redis.call('ZREM', KEYS[3], ARGV[2])
end
return published
"""


@dataclass(frozen=True)
class Announced:
    """One seq a batch drew for a conversation, with the Socket.IO emit to publish for it (None: nothing)."""

    conversation_id: str
    seq: int
    emit: dict[str, Any] | None


class OrderedDelivery:
    def __init__(self, redis: Redis, prefix: str, channel: str, json_module: Any) -> None:
        self.redis = redis
        self.prefix = prefix
        self.channel = channel
        self.json = json_module
        self.script = redis.register_script(_DELIVER)

    def _keys(self, conversation_id: str) -> list[str]:
        return [
            f"{self.prefix}:delivered:{conversation_id}",
            f"{self.prefix}:held:{conversation_id}",
            f"{self.prefix}:stalled",
        ]

    @staticmethod
    def emit(event: str, data: Any, rooms: list[str], skip_sid: str | None) -> dict[str, Any]:
        """A Socket.IO emit as python-socketio's pub/sub managers publish it (`AsyncPubSubManager.emit`)."""
        return {
            "method": "emit",
            "event": event,
            "data": [data],
            "binary": False,
            "namespace": "/",
            "room": rooms,
            "skip_sid": skip_sid,
            "callback": None,
            "host_id": SENDER,
        }

    async def announce(self, announced: Sequence[Announced]) -> None:
        """Hand a batch's seqs to the conversations' delivery scripts (one round trip for all)."""
        by_conversation: dict[str, list[str]] = {}
        for item in announced:
            payload = self.json.dumps(item.emit) if item.emit is not None else ""
            by_conversation.setdefault(item.conversation_id, []).extend((str(item.seq), payload))
        if not by_conversation:
            return
        now = str(int(time.time() * 1000))
        async with self.redis.pipeline(transaction=False) as pipe:
            for conversation_id, pairs in by_conversation.items():
                args: list[str | int] = [self.channel, conversation_id, now, KEPT_SECONDS, "0", *pairs]
                await self.script(keys=self._keys(conversation_id), args=args, client=pipe)
            await pipe.execute()

    async def unstall(self) -> int:
        """Skip the seqs some conversation has waited for longer than STALL_SECONDS; how many were freed."""
        cutoff = int((time.time() - STALL_SECONDS) * 1000)
        stalled = await self.redis.zrangebyscore(f"{self.prefix}:stalled", "-inf", cutoff)
        now = str(int(time.time() * 1000))
        for raw in stalled:
            conversation_id = raw.decode() if isinstance(raw, bytes) else str(raw)
            await self.script(
                keys=self._keys(conversation_id), args=[self.channel, conversation_id, now, KEPT_SECONDS, "1"]
            )
        return len(stalled)
