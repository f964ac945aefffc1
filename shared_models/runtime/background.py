"""How long-running tasks of both services (change streams, commit loops) notice they were asked to stop."""

import asyncio

import structlog

log = structlog.get_logger(__name__)
STOP_SECONDS = 5.0


def cancelled_meanwhile() -> bool:
    """Whether this task was asked to stop. pymongo's async client can swallow a cancellation that lands
    while an operation is in flight (the task stays "cancelling" but runs on), so every loop that awaits
    the database checks this between rounds instead of trusting the CancelledError to arrive."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def stop(tasks: list["asyncio.Task[None]"]) -> None:
    """Cancel the tasks and wait for them, but never longer than STOP_SECONDS (shutdown must not hang)."""
    for task in tasks:
        task.cancel()
    _, stuck = await asyncio.wait(tasks, timeout=STOP_SECONDS)
    for task in stuck:
        log.warning("task_did_not_stop", task=task.get_name())
