"""Rate limits for both services: one limiter (the `limits` library), in memory for one process or shared
through Redis (REDIS_URL) so a limit holds across every instance."""

import time
from dataclasses import dataclass
from typing import cast

from limits import RateLimitItem
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string


@dataclass
class RateLimiter:
    limiter: MovingWindowRateLimiter
    prefix: str

    async def hit(self, rule: RateLimitItem, scope: str, key: str) -> float | None:
        """Count one attempt; None if within the limit, else how many seconds until one is allowed again."""
        if await self.limiter.hit(rule, self.prefix, scope, key):
            return None
        stats = await self.limiter.get_window_stats(rule, self.prefix, scope, key)
        return max(1.0, stats.reset_time - time.time())


def build_limiter(redis_url: str | None, prefix: str) -> RateLimiter:
    storage = (
        cast(Storage, storage_from_string(f"async+{redis_url}", implementation="redispy"))
        if redis_url
        else MemoryStorage()
    )
    return RateLimiter(MovingWindowRateLimiter(storage), prefix)
