"""Publishing a subscription's domain events: they ride in the subscription document (written in the same
compare-and-set as the state that caused them), then move to the outbox; a crash between the two is finished
by `publish_stale` (the `billing.publish` job) or by Stripe's retry of the event."""

from datetime import datetime

from platform_api.outbox.service import STALE_AFTER, outbox_service
from shared_models import store
from shared_models.documents import ProviderSubscription

AGGREGATE = "provider_subscription"


async def publish(doc: ProviderSubscription, now: datetime) -> None:
    """Move the document's pending events to the outbox (keyed by event id: twice is once), then clear them
    if the document is still at this version."""
    if not doc.pending_events:
        return
    await outbox_service.append([(AGGREGATE, doc.provider_id, e) for e in doc.pending_events], now)
    await store.update_one(
        ProviderSubscription,
        {"_id": doc.id, "version": doc.version},
        {"$set": {"pending_events": [], "pending_since": None}},
    )


async def publish_stale(now: datetime) -> int:
    """Finish every outbox move a crash interrupted; returns how many documents had one."""
    stuck = await ProviderSubscription.find({"pending_since": {"$lte": now - STALE_AFTER}}).to_list()
    for doc in stuck:
        await publish(doc, now)
    return len(stuck)
