"""The disputes domain's periodic work (run by `platform_api.scheduler`)."""

from datetime import datetime

from platform_api.disputes.service import dispute_service
from platform_api.scheduling import JobEnv, sweep


async def sweep_due(env: JobEnv, now: datetime) -> int:
    """disputes.sweep: close evidence at each due deadline and send due reminders; returns how many moved."""
    return await dispute_service.sweep_due(now, env.settings.sweep_batch_size)


JOBS = [sweep("disputes.sweep", sweep_due)]
