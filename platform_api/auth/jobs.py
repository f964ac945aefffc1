"""The auth domain's periodic work (run by `platform_api.scheduler`)."""

from datetime import datetime

from platform_api.auth.service import auth_service
from platform_api.scheduling import JobEnv, sweep


async def remove_incomplete(env: JobEnv, now: datetime) -> int:
    """auth.remove_incomplete: remove accounts a failed sign-up left incomplete; returns how many."""
    return await auth_service.remove_incomplete(now)


JOBS = [sweep("auth.remove_incomplete", remove_incomplete)]
