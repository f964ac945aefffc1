"""HTTP rate limits: named rules from the settings, checked by the routes that can be abused.

Limits are counted per attempt, by IP and (where there is one) by account or user; the Stripe webhook and
the health probes have none. Over a limit: 429 `rate_limited` with `Retry-After`.
"""

import math

import structlog
from fastapi import Request
from limits import RateLimitItem, parse

from platform_api.config import Settings
from platform_api.errors import RateLimited
from shared_models.runtime.ratelimit import RateLimiter, build_limiter

log = structlog.get_logger(__name__)


class HttpLimits:
    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.http_rate_limits
        self.core: RateLimiter = build_limiter(settings.redis_url, settings.rate_limit_prefix)
        self.rules: dict[str, RateLimitItem] = {
            "login_ip": parse(settings.rate_login_ip),
            "login_account": parse(settings.rate_login_account),
            "register_ip": parse(settings.rate_register_ip),
            "request_create_user": parse(settings.rate_request_create_user),
            "search": parse(settings.rate_search),
            "reset_ip": parse(settings.rate_reset_ip),
            "reset_account": parse(settings.rate_reset_account),
            "verify_resend_ip": parse(settings.rate_verify_resend_ip),
            "verify_resend_account": parse(settings.rate_verify_resend_account),
        }

    async def check(self, rule: str, key: str) -> None:
        """Count one attempt under `rule` for `key`; raise 429 (with Retry-After) beyond the limit."""
        if not self.enabled:
            return
        retry_after = await self.core.hit(self.rules[rule], rule, key)
        if retry_after is not None:
            log.warning("http.rate_limited", rule=rule)
            raise RateLimited(
                details={"rule": rule, "retry_after_seconds": math.ceil(retry_after)},
                headers={"Retry-After": str(math.ceil(retry_after))},
            )


def client_ip(request: Request) -> str:
    """The client's address (behind a proxy, uvicorn's --proxy-headers puts X-Forwarded-For's here)."""
    return request.client.host if request.client else "unknown"
