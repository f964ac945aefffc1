"""Periodic jobs (APScheduler), run inside the platform process or alone as `python -m platform_api.worker`.

Each job takes a lease before working, so of several running schedulers one does the work per tick; the
jobs themselves are compare-and-set transitions, so even two holders at once could not double-apply.
"""

import socket
import uuid
from datetime import datetime, timedelta

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from pymongo.errors import DuplicateKeyError

from platform_api.billing.stripe_api import stripe_client
from platform_api.billing.webhook import StripeWebhook
from platform_api.bookings.service import SweepResult, booking_service
from platform_api.config import Settings
from platform_api.disputes.service import dispute_service
from platform_api.notifications.mailer import Mailer
from platform_api.notifications.relay import NotificationRelay
from platform_api.outbox.service import outbox_service
from platform_api.providers.service import provider_service
from platform_api.realtime import RealtimeClient
from platform_api.reviews.service import review_service
from shared_models.clock import Clock
from shared_models.documents import JobLease

log = structlog.get_logger(__name__)
BOOKING_SWEEP = "bookings.sweep"
BILLING_DRIFT_CHECK = "billing.drift_check"
NOTIFY_RELAY = "notifications.relay"
MAIL = "notifications.mail"


async def acquire_lease(name: str, holder: str, ttl: timedelta, now: datetime) -> bool:
    """Take the lease if it is free or expired, renew it if ours; False if another holder has it."""
    leases = JobLease.get_pymongo_collection()
    update = {"$set": {"holder": holder, "expires_at": now + ttl}}
    if await leases.find_one_and_update({"name": name, "expires_at": {"$lte": now}}, update):
        return True
    if await leases.find_one_and_update({"name": name, "holder": holder}, update):
        return True
    try:
        await JobLease(name=name, holder=holder, expires_at=now + ttl).insert()
    except DuplicateKeyError:
        return False
    return True


class JobRunner:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        holder: str | None = None,
        realtime: RealtimeClient | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.realtime = realtime or RealtimeClient(settings)
        self.relay = NotificationRelay(self.realtime, clock)
        self.mailer = Mailer(settings)
        self.holder = holder or f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self.stripe_webhook = StripeWebhook(settings, stripe_client(settings), clock)

    async def sweep_bookings(self) -> SweepResult | None:
        """One tick: expire / auto-confirm bookings, close dispute evidence, publish reviews whose window
        closed (all that is due), then finish any interrupted outbox moves and listing rebuilds."""
        now = self.clock.now()
        ttl = timedelta(seconds=max(self.settings.sweep_interval_seconds * 3, 30))
        if not await acquire_lease(BOOKING_SWEEP, self.holder, ttl, now):
            return None
        result = await booking_service.sweep_due(now, self.settings.sweep_batch_size)
        await dispute_service.sweep_due(now, self.settings.sweep_batch_size)
        await review_service.publish_due(now, self.settings.sweep_batch_size)
        await outbox_service.publish_stale(now)
        await self.stripe_webhook.publish_stale(now)
        await provider_service.reindex_stale(now)
        return result

    async def check_billing_drift(self) -> int | None:
        """Daily: stored subscriptions against Stripe's, repaired through the webhook handler."""
        hours = self.settings.billing_drift_check_hours
        if not await acquire_lease(
            BILLING_DRIFT_CHECK, self.holder, timedelta(hours=hours / 2), self.clock.now()
        ):
            return None
        repaired = await self.stripe_webhook.check_drift()
        log.info("billing.drift_check", repaired=repaired)
        return repaired

    async def relay_notifications(self) -> int:
        return await self.relay.drain()

    async def send_mail(self) -> int:
        return await self.mailer.send_due(self.clock.now())

    def build(self) -> AsyncIOScheduler:
        scheduler = AsyncIOScheduler(timezone="UTC")
        scheduler.add_job(
            self.sweep_bookings,
            "interval",
            seconds=self.settings.sweep_interval_seconds,
            id=BOOKING_SWEEP,
            next_run_time=datetime.now(tz=self.clock.now().tzinfo),  # catch up at once after downtime
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        for job, seconds, job_id in (
            (self.relay_notifications, self.settings.notify_relay_interval_seconds, NOTIFY_RELAY),
            (self.send_mail, self.settings.mail_interval_seconds, MAIL),
        ):
            scheduler.add_job(job, "interval", seconds=seconds, id=job_id, max_instances=1, coalesce=True)
        if self.settings.billing_drift_check_hours > 0:
            scheduler.add_job(
                self.check_billing_drift,
                "interval",
                hours=self.settings.billing_drift_check_hours,
                id=BILLING_DRIFT_CHECK,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )
        return scheduler
