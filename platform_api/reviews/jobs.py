"""The reviews domain's periodic work (run by `platform_api.scheduler`)."""

from datetime import datetime

from platform_api.reviews.service import review_service
from platform_api.scheduling import JobEnv, sweep


async def publish_due(env: JobEnv, now: datetime) -> int:
    """reviews.publish: publish every review whose window has closed; returns how many."""
    return await review_service.publish_due(now, env.settings.sweep_batch_size)


JOBS = [sweep("reviews.publish", publish_due)]
