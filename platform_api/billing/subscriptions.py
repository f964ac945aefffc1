"""Reading a provider's subscription state: the one way every other module sees it (read-only views).

Subscription state is written only by `platform_api.billing.webhook`; this module may read the document
but never write it (the single-writer contract test checks both).
"""

from datetime import datetime

from pydantic import BaseModel

from shared_models.documents import ProviderSubscription
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
    if doc is None:
        return None
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
