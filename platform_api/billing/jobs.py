"""The billing domain's periodic work (run by `platform_api.scheduler`)."""

from datetime import datetime, timedelta

import structlog

from platform_api.billing.stripe_api import stripe_client
from platform_api.billing.webhook import StripeWebhook
from platform_api.config import Settings
from platform_api.scheduling import Job, JobEnv, sweep

log = structlog.get_logger(__name__)


def _webhook(env: JobEnv) -> StripeWebhook:
    """The webhook handler the jobs feed (one Stripe client per scheduler, kept between runs)."""
    kept = env.kept.get("billing")
    if not isinstance(kept, StripeWebhook):
        kept = env.kept["billing"] = StripeWebhook(env.settings, stripe_client(env.settings), env.clock)
    return kept


async def publish_stale(env: JobEnv, now: datetime) -> int:
    """billing.publish: finish every subscription event move a crash interrupted; returns how many."""
    return await _webhook(env).publish_stale(now)


async def check_drift(env: JobEnv, now: datetime) -> int:
    """billing.check_drift (daily): stored subscriptions against Stripe's, repaired through the webhook
    handler; returns how many were repaired."""
    repaired = await _webhook(env).check_drift()
    log.info("billing.drift_check", repaired=repaired)
    return repaired


def _drift_every(settings: Settings) -> float | None:
    return settings.billing_drift_check_hours * 3600 or None


def _drift_lease(settings: Settings) -> timedelta:
    return timedelta(hours=settings.billing_drift_check_hours / 2)


JOBS = [
    sweep("billing.publish", publish_stale),
    Job("billing.check_drift", check_drift, every=_drift_every, lease=_drift_lease),
]
