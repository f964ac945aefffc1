"""What the benchmarks seed directly in the database (no HTTP, no password hashing)."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from platform_api.billing.stripe_api import stripe_client
from platform_api.billing.webhook import StripeWebhook
from platform_api.config import Settings
from shared_models.clock import ManualClock
from shared_models.documents import ProviderProfile, User
from shared_models.enums import Role


async def make_user(email: str, role: Role, now: datetime) -> User:
    return await User(
        email=email, password_hash="x", role=role, display_name=role.value, created_at=now, updated_at=now
    ).insert()


def stripe_subscription(n: int, price: str, now: datetime, status: str = "active") -> dict[str, Any]:
    """The fields of a Stripe subscription object that the webhook handler reads."""
    created = int(now.timestamp())
    return {
        "id": f"sub_bench{n:08d}",
        "object": "subscription",
        "customer": f"cus_bench{n:08d}",
        "status": status,
        "created": created,
        "cancel_at_period_end": False,
        "metadata": {},
        "items": {"data": [{"price": {"id": price}, "current_period_end": created + 30 * 86400}]},
    }


async def subscribe(items: list[tuple[ProviderProfile, Mapping[str, Any]]], now: datetime) -> int:
    """Subscription state through its one writer (the webhook module's bulk import), never written here."""
    settings = Settings()
    return await StripeWebhook(settings, stripe_client(settings), ManualClock(now)).backfill(items)
