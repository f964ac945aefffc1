"""Reading a provider's subscription state: the one way every other module sees it (read-only views).

Subscription state is written only by `platform_api.billing.webhook`; this module may read the document
but never write it (the single-writer contract test checks both).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from shared_models.documents import ProviderSubscription
from shared_models.documents.billing import ENTITLED_STATUSES
from shared_models.enums import SubscriptionStatus, SubscriptionTier

DOCUMENT_NAME = ProviderSubscription.__name__  # for registries that list documents by name (GDPR export)


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


async def export_for_provider(provider_id: str) -> list[dict[str, Any]]:
    """The provider's subscription record as stored, for its GDPR export (read-only)."""
    doc = await ProviderSubscription.find_one(ProviderSubscription.provider_id == provider_id)
    return [doc.model_dump(mode="json", by_alias=True, exclude={"revision_id"})] if doc else []


@dataclass(frozen=True)
class Standing:
    """What search needs of a subscription: `tier` while it is in good standing (an entitled status), else
    None; `version`, the subscription document's version it was read from (0: no subscription)."""

    tier: SubscriptionTier | None
    version: int


NO_SUBSCRIPTION = Standing(None, 0)


def standing_of(doc: ProviderSubscription | None) -> Standing:
    if doc is None:
        return NO_SUBSCRIPTION
    return Standing(doc.tier if doc.status in ENTITLED_STATUSES else None, doc.version)


async def standing(provider_id: str) -> Standing:
    """The provider's standing now (one read by unique key); the providers service projects it onto the
    coverage rows search reads."""
    return standing_of(await ProviderSubscription.find_one(ProviderSubscription.provider_id == provider_id))


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
