"""The chat server's long-running tasks (commit loop, change stream, heartbeat) and how they stop."""

import asyncio
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)
STOP_SECONDS = 5.0


def cancelled_meanwhile() -> bool:
    """Whether this task was asked to stop. pymongo's async client can swallow a cancellation that lands
    while an operation is in flight (the task stays "cancelling" but runs on), so every loop that awaits
    the database checks this between rounds instead of trusting the CancelledError to arrive."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


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


async def stop(tasks: list["asyncio.Task[None]"]) -> None:
    """Cancel the tasks and wait for them, but never longer than STOP_SECONDS (shutdown must not hang)."""
    for task in tasks:
        task.cancel()
    _, stuck = await asyncio.wait(tasks, timeout=STOP_SECONDS)
    for task in stuck:
        log.warning("chat.task_did_not_stop", task=task.get_name())
