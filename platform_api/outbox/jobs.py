"""The outbox's periodic work (run by `platform_api.scheduler`)."""

from datetime import datetime

from platform_api.metrics import OUTBOX_DEPTH
from platform_api.outbox.service import outbox_service
from platform_api.scheduling import Job, JobEnv, sweep
from shared_models.documents import OutboxEvent

DEPTH_CAP = 100_000  # the gauge reads at most this many (an indexed equality, never a full count)


async def publish_stale(env: JobEnv, now: datetime) -> int:
    """outbox.publish: finish every move to the outbox a crash interrupted; returns how many events."""
    return await outbox_service.publish_stale(now)


async def measure(env: JobEnv, now: datetime) -> int:
    """outbox.measure: the undispatched depth, for the `outbox_pending_events` gauge."""
    waiting = await OutboxEvent.find({"dispatched_at": None}).limit(DEPTH_CAP).to_list()
    OUTBOX_DEPTH.set(len(waiting))
    return len(waiting)


JOBS = [sweep("outbox.publish", publish_stale), Job("outbox.measure", measure, every=lambda _: 15.0)]
