"""The scheduler alone, without the HTTP API: `python -m platform_api.worker` (e.g. one worker container)."""

import asyncio
import signal

import structlog

from platform_api.config import Settings
from platform_api.scheduler import JobRunner
from shared_models.clock import SystemClock
from shared_models.runtime.logs import configure_logging
from shared_models.runtime.registry import connect, init_models

log = structlog.get_logger(__name__)


async def run(settings: Settings) -> None:
    client = connect(settings.mongodb_uri, settings.mongodb_timeout_ms)
    await init_models(client, settings.mongodb_db)
    runner = JobRunner(settings, SystemClock())
    scheduler = runner.build()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    scheduler.start()
    log.info("worker.started", holder=runner.holder, interval=settings.sweep_interval_seconds)
    await stop.wait()
    scheduler.shutdown(wait=True)
    await client.close()
    log.info("worker.stopped")


def main() -> None:
    settings = Settings()
    settings.check_secrets()
    configure_logging(settings.log_level, settings.log_json)
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
