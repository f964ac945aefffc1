"""Reading a provider's subscription state: the one way every other module sees it (read-only views).

Subscription state is written only by `platform_api.billing.webhook`; this module may read the document
but never write it (the single-writer contract test checks both).
"""

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from shared_models.documents import ProviderSubscription
from shared_models.documents.billing import ENTITLED_STATUSES
from shared_models.enums import SubscriptionStatus, SubscriptionTier


class SubscriptionView(BaseModel, frozen=True):
    provider_id: str
    provider_user_id: str
    status: SubscriptionStatus
    tier: SubscriptionTier
    price_id: str | None
    current_period_end: datetime | None
    cancel_at_period_end: bool
    entitled: bool
    stripe_customer_id: str
    stripe_subscription_id: str
    updated_at: datetime


async def get_for_provider(provider_id: str) -> SubscriptionView | None:
    doc = await ProviderSubscription.find_one(ProviderSubscription.provider_id == provider_id)
    return _view(doc) if doc is not None else None


def lookup_stage(local_field: str, as_field: str) -> dict[str, Any]:
    """An aggregation `$lookup` joining each row to its provider's subscription (by provider id), so a search
    reads the authoritative state in the same round trip (index-served on both engines)."""
    return {
        "$lookup": {
            "from": ProviderSubscription.get_collection_name(),
            "localField": local_field,
            "foreignField": "provider_id",
            "as": as_field,
        }
    }


def standing_of_joined(rows: list[dict[str, Any]]) -> SubscriptionTier | None:
    """From what `lookup_stage` joined: the tier if the subscription is in good standing, else None.
    (Reads two fields of the raw row: search calls it for every candidate.)"""
    if not rows or SubscriptionStatus(rows[0]["status"]) not in ENTITLED_STATUSES:
        return None
    return SubscriptionTier(rows[0]["tier"])


def _view(doc: ProviderSubscription) -> SubscriptionView:
    return SubscriptionView(
        provider_id=doc.provider_id,
        provider_user_id=doc.provider_user_id,
        status=doc.status,
        tier=doc.tier,
        price_id=doc.price_id,
        current_period_end=doc.current_period_end,
        cancel_at_period_end=doc.cancel_at_period_end,
        entitled=doc.entitled,
        stripe_customer_id=doc.stripe_customer_id,
        stripe_subscription_id=doc.stripe_subscription_id,
        updated_at=doc.updated_at,
    )
