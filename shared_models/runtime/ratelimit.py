"""Rate limits for both services: one limiter (the `limits` library), in memory for one process or shared
through Redis (REDIS_URL) so a limit holds across every instance.

The strategy is the sliding window counter (the current window's count plus the previous one's, weighted by
how much of it still overlaps): two counters per key instead of one timestamp per hit. The moving window's
in-memory store re-sorts every key's hit list in a worker thread after each hit, which cost the chat server a
sixth of its CPU at a few thousand messages a second (profiled with py-spy, bench/chat_fanout.py)."""

import time
from dataclasses import dataclass, field
from typing import cast

import structlog
from limits import RateLimitItem
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string

from shared_models.errors import TooManyRequests
from shared_models.runtime.redis_client import TIMEOUTS

log = structlog.get_logger(__name__)


class RateLimited(TooManyRequests):
    code = "rate_limited"
    message = "Too many attempts; try again later."


@dataclass
class RateLimiter:
    limiter: SlidingWindowCounterRateLimiter
    prefix: str
    # While the shared store (Redis) is unreachable, limits are counted per process instead: each instance
    # still limits on its own (a weaker limit, never none), and nothing fails because Redis did.
    fallback: SlidingWindowCounterRateLimiter = field(
        default_factory=lambda: SlidingWindowCounterRateLimiter(MemoryStorage())
    )

    async def hit(self, rule: RateLimitItem, scope: str, key: str) -> float | None:
        """Count one attempt; None if within the limit, else how many seconds until one is allowed again."""
        try:
            return await self._hit(self.limiter, rule, scope, key)
        except Exception as exc:  # the shared store is down (redis-py raises its own ConnectionError types)
            if self.limiter is self.fallback:
                raise
            log.warning("ratelimit.shared_store_unavailable", error=type(exc).__name__)
            return await self._hit(self.fallback, rule, scope, key)

    async def check_shared_store(self) -> None:
        """Readiness: raise unless the shared store answers (a process-local store always does)."""
        if self.limiter is not self.fallback and not await self.limiter.storage.check():
            raise ConnectionError("the rate-limit store does not answer")

    async def _hit(
        self, limiter: SlidingWindowCounterRateLimiter, rule: RateLimitItem, scope: str, key: str
    ) -> float | None:
        if await limiter.hit(rule, self.prefix, scope, key):
            return None
        stats = await limiter.get_window_stats(rule, self.prefix, scope, key)
        return max(1.0, stats.reset_time - time.time())


def build_limiter(redis_url: str | None, prefix: str) -> RateLimiter:
    if not redis_url:
        memory = SlidingWindowCounterRateLimiter(MemoryStorage())
        return RateLimiter(memory, prefix, memory)
    # Bounded waits: a Redis that stops answering fails over to local counting.
    storage = cast(Storage, storage_from_string(f"async+{redis_url}", implementation="redispy", **TIMEOUTS))
    return RateLimiter(SlidingWindowCounterRateLimiter(storage), prefix)
