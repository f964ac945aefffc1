"""The payments domain's periodic work (run by `platform_api.scheduler`)."""

from datetime import datetime

import stripe

from platform_api.billing.stripe_api import stripe_client
from platform_api.payments import settlement
from platform_api.scheduling import JobEnv, sweep


def _client(env: JobEnv) -> stripe.StripeClient:
    kept = env.kept.get("payments")
    if not isinstance(kept, stripe.StripeClient):
        kept = env.kept["payments"] = stripe_client(env.settings)
    return kept


async def settle(env: JobEnv, now: datetime) -> int:
    """payments.settle: give Stripe every money instruction a recent card-paid booking is owed (an expiry's
    release, or anything a crash or a Stripe outage left); returns how many were executed."""
    return await settlement.sweep(_client(env), now, env.settings.sweep_batch_size)


JOBS = [sweep("payments.settle", settle)]
