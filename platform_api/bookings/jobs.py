"""The bookings domain's periodic work (run by `platform_api.scheduler`)."""

from datetime import datetime

from platform_api.bookings.service import SweepResult, booking_service
from platform_api.scheduling import JobEnv, sweep


async def sweep_due(env: JobEnv, now: datetime) -> SweepResult:
    """bookings.sweep: expire requests at 48 h and auto-confirm completed jobs at 7 days, all that is due."""
    return await booking_service.sweep_due(now, env.settings.sweep_batch_size)


JOBS = [sweep("bookings.sweep", sweep_due)]
