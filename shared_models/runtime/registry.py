"""The one list of documents and the one initialiser both services call, so neither can drift."""

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence

import pymongo
from beanie import Document, init_beanie
from pymongo import AsyncMongoClient, monitoring

from shared_models.documents import (
    AccountToken,
    AuditEntry,
    BillingCustomer,
    BookingPayment,
    ConnectedAccount,
    ConsentRecord,
    Conversation,
    Dispute,
    DisputeEvidence,
    EmailMessage,
    EmailWindow,
    GeocodeCache,
    IdempotentRequest,
    JobLease,
    MediaGrant,
    MediaObject,
    Message,
    Notification,
    NotificationClaim,
    NotificationDelivery,
    NotificationPreferences,
    OutboxEvent,
    PaymentInstruction,
    ProcessedStripeEvent,
    ProviderCoverage,
    ProviderProfile,
    ProviderSubscription,
    Review,
    RevokedSession,
    SearchEvent,
    SearchImpression,
    ServiceRequest,
    User,
    WebhookDelivery,
)
from shared_models.runtime.change_streams import PoolClears, pool_clears_listener

DOCUMENT_MODELS: tuple[type[Document], ...] = (
    User,
    ProviderProfile,
    RevokedSession,
    ServiceRequest,
    OutboxEvent,
    JobLease,
    Conversation,
    Message,
    ProviderSubscription,
    BillingCustomer,
    ProcessedStripeEvent,
    WebhookDelivery,
    ProviderCoverage,
    SearchEvent,
    SearchImpression,
    GeocodeCache,
    Notification,
    NotificationClaim,
    NotificationDelivery,
    NotificationPreferences,
    EmailMessage,
    EmailWindow,
    AccountToken,
    ConsentRecord,
    MediaObject,
    MediaGrant,
    Dispute,
    DisputeEvidence,
    Review,
    AuditEntry,
    IdempotentRequest,
    ConnectedAccount,
    BookingPayment,
    PaymentInstruction,
)


def connect(
    uri: str, timeout_ms: int, listeners: Sequence[monitoring.CommandListener] = ()
) -> AsyncMongoClient[dict[str, object]]:
    """The one way a process makes its database client (a test checks no other module makes one);
    `listeners` watch its commands (a benchmark counts round trips)."""
    # Short selection timeouts make a dead engine surface as a fast 503 instead of a 30 s hang.
    clears = (
        PoolClears()
    )  # change streams restart when the client lost its server (shared_models.runtime.change_streams)
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        uri,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        socketTimeoutMS=max(timeout_ms * 5, 10_000),
        tz_aware=True,
        event_listeners=[clears, *listeners],
    )
    pool_clears_listener(client, clears)
    return client


async def init_models(
    client: AsyncMongoClient[dict[str, object]], db_name: str
) -> tuple[type[Document], ...]:
    """Bind every shared document to `db_name` and create its indexes; returns what it registered."""
    await init_beanie(database=client[db_name], document_models=list(DOCUMENT_MODELS))
    return DOCUMENT_MODELS


Probe = Callable[[], Awaitable[object]]


async def readiness(
    client: AsyncMongoClient[dict[str, object]],
    within: float,
    required: Mapping[str, Probe] | None = None,
    optional: Mapping[str, Probe] | None = None,
) -> tuple[bool, dict[str, str]]:
    """The readiness verdict both services' `/readyz` report: (ready, {dependency: "ok" | why not}).

    Ready means the database and every `required` probe answered within `within` seconds; `optional`
    dependencies are reported (a failure there degrades a feature, it does not stop the service)."""

    async def probe(check: Probe) -> str:
        # Never cancelled (not `wait_for`, which cancels the check and then waits for it): pymongo's async
        # client can swallow a cancellation that lands while it waits for or opens a pooled connection, and
        # then hang, or leave its pool unable to hand out connections (README, "Engine notes"). A check
        # still running at the deadline is abandoned to end on its own: each bounds itself (the ping by
        # pymongo's own timeout).
        task = asyncio.ensure_future(check())
        task.add_done_callback(_retrieve)
        done, _ = await asyncio.wait({task}, timeout=within)
        if not done:
            return "unavailable: TimeoutError"
        exc = task.exception() if not task.cancelled() else TimeoutError()
        return f"unavailable: {type(exc).__name__}" if exc is not None else "ok"

    async def ping() -> object:
        with pymongo.timeout(within):
            return await client.admin.command("ping")

    probes: dict[str, Probe] = {"database": ping, **(required or {})}
    names = [*probes, *(optional or {})]
    results = await asyncio.gather(*(probe(c) for c in [*probes.values(), *(optional or {}).values()]))
    checks = dict(zip(names, results, strict=True))
    ready = all(checks[name] == "ok" for name in probes)
    for name in optional or {}:
        if checks[name] != "ok":
            checks[name] = checks[name].replace("unavailable", "degraded", 1)
    return ready, checks


def _retrieve(task: "asyncio.Future[object]") -> None:
    """Mark a probe's outcome as seen (a probe abandoned on its timeout may fail later, unobserved)."""
    if not task.cancelled():
        task.exception()
