"""What a periodic job is, apart from any domain: the scheduler (`platform_api.scheduler`) runs a table of
these, and each domain's `<domain>/jobs.py` defines its own. A leaf module: it imports no domain, so domains
and the scheduler can both import it without a cycle."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from platform_api.config import Settings
from platform_api.realtime import RealtimeClient
from shared_models.clock import Clock


@dataclass
class JobEnv:
    """What every job may use: settings, the (injectable) clock, the chat server's client, and `kept`, where
    a domain keeps a long-lived helper between runs (the relay's backoff, a Stripe client) by its job name."""

    settings: Settings
    clock: Clock
    realtime: RealtimeClient
    kept: dict[str, Any] = field(default_factory=dict)


JobFunction = Callable[[JobEnv, datetime], Awaitable[object]]


@dataclass(frozen=True)
class Job:
    """One periodic job: `run(env, now)` every `every(settings)` seconds (None: switched off).

    `lease(settings)`: how long one holder keeps the job (`store.acquire_lease`), so that of several
    schedulers one works per tick; None for jobs every process may run at once (their writes are claims or
    compare-and-sets anyway). `catch_up`: run at start, so work that fell due while no scheduler ran is done
    at once rather than a whole interval later."""

    name: str  # "<domain>.<verb>", also the lease name and the metrics label
    run: JobFunction
    every: Callable[[Settings], float | None]
    lease: Callable[[Settings], timedelta] | None = None
    catch_up: bool = False


def sweep_lease(settings: Settings) -> timedelta:
    """The lease of the due-work sweeps: three intervals (a holder that misses two ticks loses it), 30 s at
    least."""
    return timedelta(seconds=max(settings.sweep_interval_seconds * 3, 30))


def sweep_every(settings: Settings) -> float:
    return settings.sweep_interval_seconds


def sweep(name: str, run: JobFunction) -> Job:
    """A due-work sweep: every sweep interval, one holder per tick, caught up at start."""
    return Job(name, run, every=sweep_every, lease=sweep_lease, catch_up=True)
