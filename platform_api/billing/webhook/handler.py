"""`StripeWebhook`: runs a verified event through the ledger and the reducer — from an HTTP delivery (after
`verify`), the replay script, an admin re-process, the drift check or the demo seed alike."""

import json
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import stripe
import structlog

from platform_api.billing.errors import UnverifiedDelivery, WebhookFailed
from platform_api.billing.webhook import drift, publishing
from platform_api.billing.webhook.ledger import Ledger, Outcome
from platform_api.billing.webhook.reducer import HANDLED_TYPES, SubscriptionReducer, subscription_id_of
from platform_api.billing.webhook.verify import VerifiedDelivery
from platform_api.config import Settings
from platform_api.errors import AppError
from shared_models.clock import Clock
from shared_models.documents import ProviderProfile, WebhookDelivery
from shared_models.ids import parse_object_id

log = structlog.get_logger(__name__)

# A reducer for some event types: applies a verified event (`force`: even if it was applied before).
EventReducer = Callable[[Mapping[str, Any], bool], Awaitable[Outcome]]


class StripeWebhook:
    """The one handler of Stripe's events. Subscriptions are billing's own; another domain routes the event
    types it owns to its reducer (`route`), and gets the same signature check, ledger, dedupe and replay."""

    def __init__(self, settings: Settings, client: stripe.StripeClient, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.ledger = Ledger(settings, clock)
        self.reducer = SubscriptionReducer(settings, client, clock)
        self.routes: dict[str, EventReducer] = {}  # other domains' event types (subscriptions: below)

    def route(self, event_types: Iterable[str], reducer: EventReducer) -> None:
        """Send these event types to `reducer` (a type has one reducer: routing it twice is a mistake)."""
        for event_type in event_types:
            if event_type in self.routes or event_type in HANDLED_TYPES:
                raise ValueError(f"{event_type} already has a reducer")
            self.routes[event_type] = reducer

    @property
    def client(self) -> stripe.StripeClient:
        """The Stripe client the reducer fetches with (swapped as one, e.g. for a Stripe that is down)."""
        return self.reducer.client

    @client.setter
    def client(self, client: stripe.StripeClient) -> None:
        self.reducer.client = client

    async def receive(self, delivery: VerifiedDelivery) -> Outcome:
        """A delivery from Stripe, verified at the edge (`verify.verified_delivery`)."""
        return await self.ingest(delivery.event, source="stripe", raw=delivery.raw, headers=delivery.headers)

    async def ingest(
        self,
        event: dict[str, Any],
        *,
        source: str,
        raw: str | None = None,
        headers: dict[str, str] | None = None,
        force: bool = False,
        reprocess_of: str | None = None,
    ) -> Outcome:
        """Handle a verified event: record it, process it, record how it ended. A failure of ours answers
        `WebhookFailed` (5xx: Stripe retries); an expected one (Stripe unreachable) its own typed error."""
        delivery = self.ledger.entry(
            raw if raw is not None else json.dumps(event, default=str),  # the SDK reads decimals as Decimal
            headers or {},
            source,
            signature_valid=True,
            outcome="received",
            event_id=event["id"],
            event_type=event["type"],
            reprocess_of=reprocess_of,
        )
        await delivery.insert()
        started = time.perf_counter()
        try:
            outcome = await self.process(event, force=force)
        except Exception as exc:
            await self.ledger.finish(delivery, started, "failed", error=f"{type(exc).__name__}: {exc}"[:2000])
            if isinstance(exc, AppError):  # e.g. Stripe unreachable: expected now and then, retried
                log.warning("billing.webhook_failed", event_id=event["id"], error=exc.message)
                raise
            log.exception("billing.webhook_failed", event_id=event["id"], event_type=event["type"])
            raise WebhookFailed("The event could not be processed; it is safe to deliver again.") from exc
        await self.ledger.finish(delivery, started, outcome.status, detail=outcome.detail)
        log.info(
            "billing.webhook",
            event_id=event["id"],
            event_type=event["type"],
            outcome=outcome.status,
            source=source,
        )
        return outcome

    async def reprocess(self, delivery_id: str) -> Outcome | None:
        """Admin action: run a recorded delivery's event through the same handler again (None: no such
        delivery; `UnverifiedDelivery` for one that failed verification)."""
        oid = parse_object_id(delivery_id)
        delivery = await WebhookDelivery.get(oid) if oid else None
        if delivery is None:
            return None
        if not delivery.signature_valid:
            raise UnverifiedDelivery("This delivery failed signature verification; it is never processed.")
        event = json.loads(delivery.body)
        return await self.ingest(
            event, source="reprocess", raw=delivery.body, force=True, reprocess_of=delivery_id
        )

    async def process(self, event: Mapping[str, Any], force: bool = False) -> Outcome:
        """Dedupe by event id, route by type, mark the event processed."""
        event_id, event_type = str(event["id"]), str(event["type"])
        if not force and await self.ledger.processed(event_id):
            return Outcome("duplicate")
        if event_type in HANDLED_TYPES:  # billing's own, called by name (the error-code check follows it)
            outcome = await self._subscription_event(event, force)
        elif (reducer := self.routes.get(event_type)) is not None:
            outcome = await reducer(event, force)
        else:
            outcome = Outcome("ignored", f"unhandled event type {event_type}")
        await self.ledger.mark_processed(event_id, event_type, outcome.status)
        return outcome

    async def _subscription_event(self, event: Mapping[str, Any], force: bool) -> Outcome:
        if (sub_id := subscription_id_of(event)) is None:
            return Outcome("ignored", "not about a subscription")
        return await self.reducer.apply(sub_id, event, force)

    async def backfill(self, items: list[tuple[ProviderProfile, Mapping[str, Any]]]) -> int:
        """See `SubscriptionReducer.backfill`."""
        return await self.reducer.backfill(items)

    async def publish_stale(self, now: datetime) -> int:
        """See `publishing.publish_stale`."""
        return await publishing.publish_stale(now)

    async def check_drift(self) -> int:
        """See `drift.check_drift`."""
        return await drift.check_drift(self)
