"""The scheduler keeps the lease, the metrics and the table; each domain's jobs live beside it, and each job
runs, fails, retries and is measured alone."""

import asyncio
import inspect
from datetime import datetime

from fastapi import FastAPI

from platform_api import scheduler
from platform_api.config import Settings
from platform_api.metrics import JOB_RUNS
from platform_api.scheduler import FAILED, JOBS, JobRunner
from platform_api.scheduling import Job, JobEnv, sweep
from shared_models.clock import ManualClock


def runs(job: str, outcome: str) -> float:
    return JOB_RUNS.labels(job, outcome)._value.get()


def test_every_job_lives_in_its_domain_and_is_named_for_it() -> None:
    names = [job.name for job in JOBS]
    assert len(names) == len(set(names))
    for job in JOBS:
        domain, verb = job.name.split(".")
        assert job.run.__module__ == f"platform_api.{domain}.jobs", job.name
        assert verb and inspect.iscoroutinefunction(job.run)
    # The scheduler defines no job of its own: nothing in it is awaited as a job.
    assert not [j for j in JOBS if j.run.__module__ == scheduler.__name__]
    assert {name.split(".")[0] for name in names} >= {
        "bookings",
        "disputes",
        "reviews",
        "outbox",
        "billing",
        "providers",
        "auth",
        "notifications",
    }


def test_each_job_is_its_own_schedule_entry(settings: Settings, clock: ManualClock) -> None:
    built = JobRunner(settings, clock).build()
    on = [job.name for job in JOBS if job.every(settings) is not None]
    assert sorted(entry.id for entry in built.get_jobs()) == sorted(on)
    off = settings.model_copy(update={"billing_drift_check_hours": 0})
    assert "billing.check_drift" not in {e.id for e in JobRunner(off, clock).build().get_jobs()}


def test_sweeps_catch_up_at_start_and_owe_a_missed_run(settings: Settings, clock: ManualClock) -> None:
    built = {entry.id: entry for entry in JobRunner(settings, clock).build().get_jobs()}
    for job in JOBS:
        if job.name not in built:
            continue
        entry = built[job.name]
        # Before the scheduler starts, only a job given a first run time has one.
        assert (getattr(entry, "next_run_time", None) is not None) is job.catch_up, job.name
        # None: however late (owed); absent until start: APScheduler's default grace.
        assert (getattr(entry, "misfire_grace_time", "default") is None) is (job.lease is not None), job.name
        assert entry.trigger.interval.total_seconds() == job.every(settings), job.name
    assert {j.name for j in JOBS if j.catch_up} >= {"bookings.sweep", "disputes.sweep", "reviews.publish"}


async def test_a_job_that_raises_stops_no_other_and_is_tried_again_next_tick(
    platform_app: FastAPI, settings: Settings, clock: ManualClock
) -> None:
    ran: list[str] = []

    async def first(env: JobEnv, now: datetime) -> int:
        ran.append("first")
        return 1

    async def broken(env: JobEnv, now: datetime) -> int:
        ran.append("broken")
        raise RuntimeError("a sweep that keeps raising")

    async def last(env: JobEnv, now: datetime) -> int:
        ran.append("last")
        return 3

    table = [sweep("test.first", first), sweep("test.broken", broken), sweep("test.last", last)]
    runner = JobRunner(settings, clock, holder="isolation", jobs=table)
    errors, oks = runs("test.broken", "error"), runs("test.last", "ok")
    assert await runner.run_all() == {"test.first": 1, "test.broken": FAILED, "test.last": 3}
    assert await runner.run_all() == {"test.first": 1, "test.broken": FAILED, "test.last": 3}
    assert ran == ["first", "broken", "last"] * 2
    assert runs("test.broken", "error") == errors + 2 and runs("test.last", "ok") == oks + 2


async def test_each_job_has_its_own_lease(
    platform_app: FastAPI, settings: Settings, clock: ManualClock
) -> None:
    async def work(env: JobEnv, now: datetime) -> str:
        return "done"

    table: list[Job] = [sweep("test.one", work), sweep("test.two", work)]
    a = JobRunner(settings, clock, holder="a", jobs=table)
    b = JobRunner(settings, clock, holder="b", jobs=table)
    # a holds test.one; b still works test.two (one busy or failing job's lease blocks no other job).
    assert await a.run("test.one") == "done"
    assert await asyncio.gather(b.run("test.one"), b.run("test.two")) == [None, "done"]
    assert await a.run("test.two") is None
