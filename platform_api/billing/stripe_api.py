"""The Stripe client (the real SDK; its API base is the local stand-in in dev and tests) and its failures
mapped to our typed errors."""

import re
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import stripe
import structlog
from stripe._base_address import BaseAddresses

# Re-exported: the webhook's modules import it from here until they take it from billing.errors.
from platform_api.billing.errors import StripeUnavailable
from platform_api.config import Settings

log = structlog.get_logger(__name__)


def stripe_client(settings: Settings) -> stripe.StripeClient:
    base: BaseAddresses = {"api": settings.stripe_api_base} if settings.stripe_api_base else {}
    return stripe.StripeClient(
        settings.stripe_secret_key.get_secret_value(),
        base_addresses=base,
        http_client=stripe.HTTPXClient(timeout=settings.stripe_timeout_seconds, allow_sync_methods=True),
        # The SDK retries connection errors and 409/5xx answers with idempotency keys of its own.
        max_network_retries=2,
    )


@contextmanager
def stripe_errors(action: str) -> Iterator[None]:
    """Stripe down, slow or refusing our key: a typed 503 the caller can retry, never a 500."""
    try:
        yield
    except (
        stripe.APIConnectionError,
        stripe.RateLimitError,
        stripe.AuthenticationError,
        stripe.APIError,
    ) as exc:
        log.warning("stripe.unavailable", action=action, error=str(exc)[:200])
        raise StripeUnavailable(f"Stripe could not be reached to {action}; retry shortly.") from exc


async def retrieved(
    action: str, fetch: Callable[[], Awaitable[stripe.StripeObject]]
) -> dict[str, Any] | None:
    """A Stripe object as Stripe has it now, as a dict; None when Stripe has no such object (404). Stripe
    unreachable: `StripeUnavailable` (see `stripe_errors`)."""
    try:
        with stripe_errors(action):
            found = await fetch()
    except stripe.InvalidRequestError as exc:
        if exc.http_status == 404:
            return None
        raise
    as_dict: dict[str, Any] = found.to_dict()
    return as_dict


def id_of(value: Any, prefix: str | None = None) -> str | None:
    """A Stripe reference (an id, or the expanded object): its id. With `prefix` (`pi`, `acct`) only an id
    of that kind: anything else in a body, signed or not, names nothing we would look up."""
    if isinstance(value, Mapping):
        value = value.get("id")
    if prefix is None:
        return str(value) if value else None
    return value if isinstance(value, str) and re.fullmatch(rf"{prefix}_[A-Za-z0-9]+", value) else None
