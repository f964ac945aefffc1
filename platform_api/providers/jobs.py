"""The providers domain's periodic work (run by `platform_api.scheduler`)."""

from datetime import datetime

from platform_api.providers.service import provider_service
from platform_api.scheduling import JobEnv, sweep


async def reindex_stale(env: JobEnv, now: datetime) -> int:
    """providers.reindex: finish every listing rebuild a crash interrupted; returns how many."""
    return await provider_service.reindex_stale(now)


JOBS = [sweep("providers.reindex", reindex_stale)]
