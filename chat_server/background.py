"""The chat server's periodic tasks (heartbeat, shared-state rounds)."""

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from shared_models.runtime.background import cancelled_meanwhile

log = structlog.get_logger(__name__)


async def forever(name: str, step: Callable[[], Awaitable[object]], pause: float) -> None:
    """Run `step` every `pause` seconds until cancelled; a failing step is logged and retried next time."""
    while not cancelled_meanwhile():
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("chat.background_step_failed", task=name)
        await asyncio.sleep(pause)
