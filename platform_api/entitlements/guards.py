"""Subscription guards other domains ask before letting a provider do business."""

from platform_api.entitlements import subscriptions
from shared_models.documents import ProviderProfile


async def provider_accepts_requests(provider: ProviderProfile) -> bool:
    """May this provider receive and accept booking requests (and appear in search)?

    Yes while its subscription, as the Stripe webhook last recorded it, is in good standing
    (active, trialing, or past_due while Stripe retries the charge).
    """
    subscription = await subscriptions.get_for_provider(str(provider.id))
    return subscription is not None and subscription.entitled
