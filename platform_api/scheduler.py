"""Periodic jobs (APScheduler), run inside the platform process or alone as `python -m platform_api.worker`.

Each job takes a lease before working, so of several running schedulers one does the work per tick; the
jobs themselves are compare-and-set transitions, so even two holders at once could not double-apply.
"""

import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import structlog
from apscheduler.events import EVENT_JOB_SUBMITTED, JobSubmissionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from pymongo.errors import DuplicateKeyError

from platform_api.auth.service import auth_service
from platform_api.billing.stripe_api import stripe_client
from platform_api.billing.webhook import StripeWebhook
from platform_api.bookings.service import SweepResult, booking_service
from platform_api.config import Settings
from platform_api.disputes.service import dispute_service
from platform_api.metrics import JOB_DURATION, JOB_LAG, JOB_RUNS, OUTBOX_DEPTH
from platform_api.notifications.mailer import Mailer
from platform_api.notifications.relay import NotificationRelay
from platform_api.outbox.service import outbox_service
from platform_api.providers.service import provider_service
from platform_api.realtime import RealtimeClient
from platform_api.reviews.service import review_service
from shared_models.clock import Clock, SystemClock, to_millis
from shared_models.documents import JobLease, OutboxEvent
from shared_models.runtime.telemetry import bound_request_id

log = structlog.get_logger(__name__)
BOOKING_SWEEP = "bookings.sweep"
BILLING_DRIFT_CHECK = "billing.drift_check"
NOTIFY_RELAY = "notifications.relay"
MAIL = "notifications.mail"


OUTBOX_METRIC = "metrics.outbox"
OUTBOX_DEPTH_CAP = 100_000


def _tracked(job_id: str, job: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
    """A job run with its own request id (so the calls it makes are traceable) and its metrics."""

    async def run() -> None:
        started = time.perf_counter()
        with bound_request_id(f"job-{job_id}-{uuid.uuid4().hex[:12]}"):
            try:
                await job()
            except Exception:
                JOB_RUNS.labels(job_id, "error").inc()
                log.exception("scheduler.job_failed", job=job_id)
            else:
                JOB_RUNS.labels(job_id, "ok").inc()
            finally:
                JOB_DURATION.labels(job_id).observe(time.perf_counter() - started)

    return run


def _observe_submission(event: JobSubmissionEvent) -> None:
    # How late the run starts against its schedule: a busy loop or a stalled process shows here.
    # Against the wall clock APScheduler runs on, not the injected one a test may have moved.
    scheduled = max(event.scheduled_run_times)
    JOB_LAG.labels(event.job_id).set(max((SystemClock().now() - scheduled).total_seconds(), 0.0))


async def acquire_lease(name: str, holder: str, ttl: timedelta, now: datetime) -> bool:
    """Take the lease if it is free or expired, renew it if ours; False if another holder has it."""
    leases = JobLease.get_pymongo_collection()
    expires_at = to_millis(now + ttl)  # the ttl comes from settings in fractional seconds
    update = {"$set": {"holder": holder, "expires_at": expires_at}}
    if await leases.find_one_and_update({"name": name, "expires_at": {"$lte": now}}, update):
        return True
    if await leases.find_one_and_update({"name": name, "holder": holder}, update):
        return True
    try:
        await JobLease(name=name, holder=holder, expires_at=expires_at).insert()
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
        await auth_service.remove_incomplete(now)
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

    async def measure_outbox(self) -> int:
        """The outbox's undispatched depth, for the `outbox_pending_events` gauge (an indexed equality)."""
        waiting = await OutboxEvent.find({"dispatched_at": None}).limit(OUTBOX_DEPTH_CAP).to_list()
        OUTBOX_DEPTH.set(len(waiting))
        return len(waiting)

    def build(self) -> AsyncIOScheduler:
        scheduler = AsyncIOScheduler(timezone="UTC")
        scheduler.add_listener(_observe_submission, EVENT_JOB_SUBMITTED)
        scheduler.add_job(
            _tracked(BOOKING_SWEEP, self.sweep_bookings),
            "interval",
            seconds=self.settings.sweep_interval_seconds,
            id=BOOKING_SWEEP,
            next_run_time=SystemClock().now(),  # catch up at once after downtime (APScheduler's wall clock)
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        for job, seconds, job_id in (
            (self.relay_notifications, self.settings.notify_relay_interval_seconds, NOTIFY_RELAY),
            (self.send_mail, self.settings.mail_interval_seconds, MAIL),
            (self.measure_outbox, 15.0, OUTBOX_METRIC),
        ):
            scheduler.add_job(
                _tracked(job_id, job), "interval", seconds=seconds, id=job_id, max_instances=1, coalesce=True
            )
        if self.settings.billing_drift_check_hours > 0:
            scheduler.add_job(
                _tracked(BILLING_DRIFT_CHECK, self.check_billing_drift),
                "interval",
                hours=self.settings.billing_drift_check_hours,
                id=BILLING_DRIFT_CHECK,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )
        return scheduler
