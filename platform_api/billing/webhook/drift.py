"""The drift check (daily, the `billing.check_drift` job): stored subscriptions against Stripe's. A difference
is logged field by field and repaired only by feeding Stripe's object through the handler (source
`drift_check`), so the webhook stays the one writer; where the state agrees, the standing search reads from
the coverage rows is checked (and re-projected if it drifted)."""

from typing import TYPE_CHECKING

import structlog

from platform_api.billing.webhook.reducer import StripeState
from platform_api.providers.service import provider_service
from shared_models.documents import ProviderSubscription

if TYPE_CHECKING:
    from platform_api.billing.webhook.handler import StripeWebhook

log = structlog.get_logger(__name__)


async def check_drift(webhook: "StripeWebhook") -> int:
    """Compare every stored subscription with Stripe's; log each difference and repair it by feeding the
    subscription through the same handler; where the state agrees, check the standing search reads from
    the coverage rows (repaired by re-projecting it). Returns how many were repaired."""
    repaired = 0
    async for doc in ProviderSubscription.find_all():
        fetched = await webhook.reducer.retrieve(doc.stripe_subscription_id)
        if fetched is None:
            log.warning(
                "billing.drift_missing",
                provider_id=doc.provider_id,
                subscription=doc.stripe_subscription_id,
            )
            continue
        differences = StripeState.of(fetched, webhook.settings).differences(doc)
        if not differences:
            # The stored state is Stripe's: check what search reads of it (repaired there if not).
            repaired += await provider_service.standing_drift(doc.provider_id)
            continue
        for name, (stored, fresh) in differences.items():
            log.warning(
                "billing.drift",
                provider_id=doc.provider_id,
                field=name,
                stored=str(stored),
                stripe=str(fresh),
            )
        event = {
            "id": f"drift_{doc.stripe_subscription_id}_{int(webhook.clock.now().timestamp())}",
            "object": "event",
            "type": "customer.subscription.updated",
            "created": int(webhook.clock.now().timestamp()),
            "data": {"object": fetched},
        }
        await webhook.ingest(event, source="drift_check", force=True)
        repaired += 1
    return repaired + await provider_service.listed_without_standing()
