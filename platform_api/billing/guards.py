"""Subscription guards other domains ask before letting a provider do business."""

from shared_models.documents import ProviderProfile


async def provider_accepts_requests(provider: ProviderProfile) -> bool:
    """May this provider receive and accept booking requests?

    The one place the booking lifecycle asks. Until the Stripe subscriptions issue lands, every provider
    counts as subscribed; that issue replaces this body with a read of the stored subscription state.
    """
    return True
