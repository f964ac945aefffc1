"""Periodic jobs (APScheduler), run inside the platform process or alone as `python -m platform_api.worker`.

The scheduler keeps only the lease, the metrics and the table of jobs; each domain's work lives in its
`<domain>/jobs.py`, one function per job named `<domain>.<verb>`. Every job runs alone: its own APScheduler
entry, its own lease (of several running schedulers one works per tick; the jobs themselves are
compare-and-set transitions, so even two holders at once could not double-apply), its own request id and
metrics. One that raises is logged and counted, and tried again at its next tick; the others never notice.
"""

import socket
import time
import uuid
from collections.abc import Sequence

import structlog
from apscheduler.events import EVENT_JOB_SUBMITTED, JobSubmissionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from platform_api.auth import jobs as auth_jobs
from platform_api.billing import jobs as billing_jobs
from platform_api.bookings import jobs as booking_jobs
from platform_api.config import Settings
from platform_api.disputes import jobs as dispute_jobs
from platform_api.metrics import JOB_DURATION, JOB_LAG, JOB_RUNS
from platform_api.notifications import jobs as notification_jobs
from platform_api.outbox import jobs as outbox_jobs
from platform_api.payments import jobs as payment_jobs
from platform_api.providers import jobs as provider_jobs
from platform_api.realtime import RealtimeClient
from platform_api.reviews import jobs as review_jobs
from platform_api.scheduling import Job, JobEnv
from shared_models.clock import Clock, SystemClock
from shared_models.runtime.telemetry import bound_request_id
from shared_models.store import acquire_lease

log = structlog.get_logger(__name__)

# The table: every periodic job of the platform, in the order a catch-up runs them.
JOBS: tuple[Job, ...] = (
    *booking_jobs.JOBS,
    *dispute_jobs.JOBS,
    *review_jobs.JOBS,
    *outbox_jobs.JOBS,
    *billing_jobs.JOBS,
    *payment_jobs.JOBS,
    *provider_jobs.JOBS,
    *auth_jobs.JOBS,
    *notification_jobs.JOBS,
)


FAILED = "failed"  # `tick`'s outcome for a job that raised (logged and counted; tried again next tick)


def _observe_submission(event: JobSubmissionEvent) -> None:
    # How late the run starts against its schedule: a busy loop or a stalled process shows here.
    # Against the wall clock APScheduler runs on, not the injected one a test may have moved.
    scheduled = max(event.scheduled_run_times)
    JOB_LAG.labels(event.job_id).set(max((SystemClock().now() - scheduled).total_seconds(), 0.0))


def _timing(job: Job) -> dict[str, object]:
    """APScheduler's timing options for a job: a leased job (a sweep, the drift check) runs however late
    its tick starts (`misfire_grace_time=None`: a missed run is owed, not skipped); a sweep also runs at once
    at start (`next_run_time`, APScheduler's wall clock), catching up on what fell due while no scheduler
    ran. The frequent unleased jobs (relay, mail, gauge) keep APScheduler's default grace: the next tick
    comes within seconds anyway."""
    timing: dict[str, object] = {}
    if job.lease is not None:
        timing["misfire_grace_time"] = None
    if job.catch_up:
        timing["next_run_time"] = SystemClock().now()
    return timing


class JobRunner:
    """Runs the table of jobs: `run(name)` once (tests, ops), `run_all()` once each, `build()` on a
    schedule."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        holder: str | None = None,
        realtime: RealtimeClient | None = None,
        jobs: Sequence[Job] = JOBS,
    ) -> None:
        self.env = JobEnv(settings, clock, realtime or RealtimeClient(settings))
        self.holder = holder or f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self.jobs = {job.name: job for job in jobs}

    @property
    def settings(self) -> Settings:
        return self.env.settings

    @settings.setter
    def settings(self, settings: Settings) -> None:
        self.env.settings = settings

    async def run(self, name: str) -> object:
        """Run one job now, under its lease: its result (never None), None when another holder has the lease.
        Raises what the job raised (`tick` is the isolating form the schedule uses)."""
        job = self.jobs[name]
        now = self.env.clock.now()
        if job.lease is not None and not await acquire_lease(
            job.name, self.holder, job.lease(self.env.settings), now
        ):
            return None
        return await job.run(self.env, now)

    async def tick(self, name: str) -> object:
        """One scheduled run of a job, alone: its own request id and metrics; a failure is logged and
        counted (`FAILED`), never raised, so it stops nothing else."""
        started = time.perf_counter()
        with bound_request_id(f"job-{name}-{uuid.uuid4().hex[:12]}"):
            try:
                result = await self.run(name)
            except Exception:
                JOB_RUNS.labels(name, "error").inc()
                log.exception("scheduler.job_failed", job=name)
                return FAILED
            else:
                JOB_RUNS.labels(name, "ok" if result is not None else "skipped").inc()
                return result
            finally:
                JOB_DURATION.labels(name).observe(time.perf_counter() - started)

    async def run_all(self) -> dict[str, object]:
        """Every job once, in table order, each alone (a failing one is `FAILED` and the rest still run)."""
        return {name: await self.tick(name) for name in self.jobs}

    def build(self) -> AsyncIOScheduler:
        scheduler = AsyncIOScheduler(timezone="UTC")
        scheduler.add_listener(_observe_submission, EVENT_JOB_SUBMITTED)
        for job in self.jobs.values():
            seconds = job.every(self.env.settings)
            if seconds is None:
                continue
            scheduler.add_job(
                self.tick,
                "interval",
                args=[job.name],
                seconds=seconds,
                id=job.name,
                max_instances=1,
                coalesce=True,
                **_timing(job),
            )
        return scheduler
