"""The Stripe webhook: the only writer of a provider's subscription state.

Every delivery is verified with the stripe SDK, recorded raw in the ledger (`WebhookDelivery`), and
handled here; the replay script, the admin "re-process" action and the drift check feed events through the
same `ingest` path.

Order-proofing — why we re-fetch: Stripe retries and reorders deliveries, and an event's payload is a
snapshot of the object when the event was *created*, not when it arrives. Event `created` times have
one-second resolution (a checkout produces several events in the same second) and the subscription object
carries no version, so comparing timestamps cannot order two events of the same second. Instead, whatever
the event, we retrieve the subscription from Stripe and store *that*: the newest state wins no matter the
order of arrival. Two handlers racing each other are ordered by a compare-and-set on the document's version,
and each re-reads the version *before* it fetches, so a write built from an older fetch can never land after
one built from a newer fetch (the loser re-reads, re-fetches and tries again).

Idempotency: the ids of applied events are written in the same atomic replace as the state they caused
(`applied_event_ids`), so an event's effects — the state change and the domain events (notifications) it
derives — happen once, also under concurrent redelivery; `ProcessedStripeEvent` (unique event id) then
lets any later redelivery return at once.
"""

import contextlib
import json
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import stripe
import structlog
from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from platform_api.billing.stripe_api import StripeUnavailable, stripe_errors
from platform_api.billing.tiers import tier_for_price
from platform_api.config import Settings
from platform_api.errors import AppError, BadRequest, Conflict
from platform_api.metrics import WEBHOOK_OUTCOMES
from platform_api.outbox.service import STALE_AFTER, outbox_service
from platform_api.providers.service import provider_service
from shared_models.bulk import insert_new
from shared_models.cas import replace_if
from shared_models.clock import Clock, from_timestamp
from shared_models.documents import (
    BillingCustomer,
    DomainEvent,
    ProcessedStripeEvent,
    ProviderProfile,
    ProviderSubscription,
    WebhookDelivery,
)
from shared_models.documents.billing import ENDED_STATUSES, ENTITLED_STATUSES
from shared_models.enums import SubscriptionStatus, SubscriptionTier
from shared_models.ids import parse_object_id, sortable_key

log = structlog.get_logger(__name__)

HANDLED_TYPES = frozenset(
    {
        "checkout.session.completed",
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "invoice.paid",
        "invoice.payment_failed",
    }
)
KEPT_HEADERS = ("stripe-signature", "content-type", "content-length", "user-agent")
MAX_STORED_BODY = 256 * 1024
APPLIED_IDS_KEPT = 100
CAS_ATTEMPTS = 8
AGGREGATE = "provider_subscription"


class InvalidSignature(BadRequest):
    default_code = "invalid_signature"


class WebhookFailed(AppError):
    """Our side failed: a 5xx, so Stripe retries (the handler is safe to run again)."""

    status_code = 500
    default_code = "webhook_failed"
    description = "Processing failed; Stripe will retry"


class UnverifiedDelivery(Conflict):
    default_code = "unverified_delivery"


@dataclass(frozen=True)
class Outcome:
    status: str  # processed | duplicate | ignored
    detail: str | None = None


@dataclass(frozen=True)
class StripeState:
    """The fields we keep of a Stripe subscription, read from the object Stripe returned."""

    subscription_id: str
    customer_id: str
    status: SubscriptionStatus
    price_id: str | None
    tier: SubscriptionTier
    current_period_end: datetime | None
    cancel_at_period_end: bool
    created: int

    @classmethod
    def of(cls, sub: Mapping[str, Any], settings: Settings) -> "StripeState":
        items = (sub.get("items") or {}).get("data") or [{}]
        item = items[0]
        price_id = (item.get("price") or {}).get("id")
        # Since API version 2025-03-31 the period lives on the item; older versions put it on the subscription.
        period_end = item.get("current_period_end") or sub.get("current_period_end")
        return cls(
            subscription_id=sub["id"],
            customer_id=_id_of(sub.get("customer")) or "",
            status=SubscriptionStatus(sub["status"]),
            price_id=price_id,
            tier=tier_for_price(price_id, settings),
            current_period_end=from_timestamp(period_end) if period_end else None,
            cancel_at_period_end=bool(sub.get("cancel_at_period_end")),
            created=int(sub.get("created") or 0),
        )

    def fields(self, now: datetime) -> dict[str, Any]:
        """The document's fields for this state."""
        return {
            "stripe_customer_id": self.customer_id,
            "stripe_subscription_id": self.subscription_id,
            "status": self.status,
            "tier": self.tier,
            "price_id": self.price_id,
            "current_period_end": self.current_period_end,
            "cancel_at_period_end": self.cancel_at_period_end,
            "subscription_created": self.created,
            "updated_at": now,
        }

    def rank(self) -> tuple[bool, int]:
        return self.status not in ENDED_STATUSES, self.created

    def supersedes(self, current: ProviderSubscription) -> bool:
        """Which of two subscriptions speaks for the provider: a live one over an ended one, then the newer."""
        if current.stripe_subscription_id == self.subscription_id:
            return True
        return self.rank() > (current.status not in ENDED_STATUSES, current.subscription_created)

    def differences(self, doc: ProviderSubscription) -> dict[str, tuple[Any, Any]]:
        """Stored against fresh, field by field, for what the product reads (not bookkeeping)."""
        fresh = self.fields(doc.updated_at)
        compared = [k for k in fresh if k not in ("updated_at", "subscription_created", "stripe_customer_id")]
        return {k: (getattr(doc, k), fresh[k]) for k in compared if getattr(doc, k) != fresh[k]}


def _id_of(value: Any) -> str | None:
    """A Stripe reference: an id string, or the expanded object."""
    if isinstance(value, Mapping):
        return str(value.get("id")) if value.get("id") else None
    return str(value) if value else None


def subscription_id_of(event: Mapping[str, Any]) -> str | None:
    obj = event["data"]["object"]
    kind = event["type"]
    if kind.startswith("customer.subscription."):
        return _id_of(obj.get("id"))
    if kind == "checkout.session.completed":
        return _id_of(obj.get("subscription")) if obj.get("mode") == "subscription" else None
    if kind.startswith("invoice."):
        # Older API versions: invoice.subscription; since 2025-03-31: invoice.parent.subscription_details.
        details = (obj.get("parent") or {}).get("subscription_details") or {}
        return _id_of(obj.get("subscription")) or _id_of(details.get("subscription"))
    return None


def derive_events(
    current: ProviderSubscription | None,
    new: StripeState,
    provider: ProviderProfile,
    event_id: str,
    event_type: str,
    now: datetime,
) -> list[DomainEvent]:
    """The domain events (for notifications) a change of state causes, each with an id derived from the
    Stripe event, so however often an event is handled its effects are recorded once."""
    was_entitled = current is not None and current.status in ENTITLED_STATUSES
    is_entitled = new.status in ENTITLED_STATUSES
    same = current is not None and current.stripe_subscription_id == new.subscription_id
    base = {
        "provider_id": str(provider.id),
        "provider_user_id": provider.owner_id,
        "subscription_id": new.subscription_id,
        "tier": new.tier.value,
        "status": new.status.value,
    }
    found: list[tuple[str, dict[str, Any]]] = []
    if is_entitled and not was_entitled:
        found.append(("subscription.activated", {}))
    elif is_entitled and current is not None and current.tier != new.tier:
        found.append(("subscription.tier_changed", {"previous_tier": current.tier.value}))
    scheduled_before = same and current is not None and current.cancel_at_period_end
    if is_entitled and new.cancel_at_period_end and not scheduled_before:
        ends = new.current_period_end.isoformat() if new.current_period_end else None
        found.append(("subscription.cancelled", {"at_period_end": True, "ends_at": ends}))
    if (
        new.status in ENDED_STATUSES
        and current is not None
        and current.status not in ENDED_STATUSES
        and same
        and not scheduled_before
    ):
        found.append(("subscription.cancelled", {"at_period_end": False, "ends_at": now.isoformat()}))
    if event_type == "invoice.payment_failed":
        found.append(("subscription.payment_failed", {}))
    return [
        DomainEvent(id=f"{event_id}:{kind}", type=kind, occurred_at=now, payload={**base, **extra})
        for kind, extra in found
    ]


class StripeWebhook:
    def __init__(self, settings: Settings, client: stripe.StripeClient, clock: Clock) -> None:
        self.settings = settings
        self.client = client
        self.clock = clock

    # --- entry points ------------------------------------------------------------------------------

    async def receive(self, body: bytes, headers: Mapping[str, str]) -> Outcome:
        """An HTTP delivery from Stripe: verify, record, handle. Bad signature → InvalidSignature, no effect."""
        kept = {name: headers[name][:2000] for name in KEPT_HEADERS if name in headers}
        text = body.decode("utf-8", errors="replace")
        try:
            stripe.WebhookSignature.verify_header(
                body.decode("utf-8"),
                headers.get("stripe-signature"),
                self.settings.stripe_webhook_secret.get_secret_value(),
                self.settings.stripe_webhook_tolerance_seconds,
            )
            event = json.loads(body)
            if not isinstance(event, dict) or event.get("object") != "event":
                raise ValueError("the body is not a Stripe event")
            event["id"], event["type"], event["data"]["object"]
        except (stripe.SignatureVerificationError, ValueError, KeyError, TypeError) as exc:
            why = str(exc).split(".")[0][:200] or type(exc).__name__
            await self._ledger(
                text, kept, "stripe", signature_valid=False, outcome="rejected", detail=why
            ).insert()
            WEBHOOK_OUTCOMES.labels("rejected").inc()
            log.warning("billing.webhook_rejected", reason=why)
            raise InvalidSignature(f"Webhook rejected: {why}.", field="Stripe-Signature") from exc
        return await self.ingest(event, source="stripe", raw=text, headers=kept)

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
        """Handle a verified event (from a delivery, the replay script, a re-process or the drift check)."""
        delivery = self._ledger(
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
            await self._finish(delivery, started, "failed", error=f"{type(exc).__name__}: {exc}"[:2000])
            if isinstance(exc, AppError):  # e.g. Stripe unreachable: expected now and then, retried
                log.warning("billing.webhook_failed", event_id=event["id"], error=exc.message)
                raise
            log.exception("billing.webhook_failed", event_id=event["id"], event_type=event["type"])
            raise WebhookFailed("The event could not be processed; it is safe to deliver again.") from exc
        await self._finish(delivery, started, outcome.status, detail=outcome.detail)
        log.info(
            "billing.webhook",
            event_id=event["id"],
            event_type=event["type"],
            outcome=outcome.status,
            source=source,
        )
        return outcome

    async def reprocess(self, delivery_id: str) -> Outcome | None:
        """Admin action: run a recorded delivery's event through the same handler again."""
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

    # --- the handler ---------------------------------------------------------------------------------

    async def process(self, event: Mapping[str, Any], force: bool = False) -> Outcome:
        event_id, event_type = str(event["id"]), str(event["type"])
        if not force and await ProcessedStripeEvent.find_one(ProcessedStripeEvent.event_id == event_id):
            return Outcome("duplicate")
        if event_type not in HANDLED_TYPES:
            outcome = Outcome("ignored", f"unhandled event type {event_type}")
        elif (sub_id := subscription_id_of(event)) is None:
            outcome = Outcome("ignored", "not about a subscription")
        else:
            outcome = await self.apply_subscription(sub_id, event, force)
        await self._mark_processed(event_id, event_type, outcome.status)
        return outcome

    async def apply_subscription(self, sub_id: str, event: Mapping[str, Any], force: bool) -> Outcome:
        event_id, event_type = str(event["id"]), str(event["type"])
        provider = await self._provider_of(event["data"]["object"])
        if provider is None:
            return Outcome("ignored", f"subscription {sub_id} belongs to no provider of ours")
        for _ in range(CAS_ATTEMPTS):
            now = self.clock.now()
            current = await ProviderSubscription.find_one(
                ProviderSubscription.provider_id == str(provider.id)
            )
            if current is not None and event_id in current.applied_event_ids and not force:
                await self._publish(current, now)  # finish what a crash after the state write left pending
                await provider_service.project_standing(str(provider.id))  # likewise
                return Outcome("duplicate")
            # Fetched after the version was read: the state written is never older than the version it replaces.
            fetched = await self._retrieve(sub_id)
            if fetched is None:
                return Outcome("ignored", f"Stripe has no subscription {sub_id}")
            state = StripeState.of(fetched, self.settings)
            if current is not None and not state.supersedes(current):
                return Outcome("ignored", f"{sub_id} is superseded by {current.stripe_subscription_id}")
            derived = derive_events(current, state, provider, event_id, event_type, now)
            fields = state.fields(now)
            if current is None:
                doc = ProviderSubscription(
                    provider_id=str(provider.id),
                    provider_user_id=provider.owner_id,
                    version=1,
                    applied_event_ids=[event_id],
                    pending_events=derived,
                    pending_since=now if derived else None,
                    **fields,
                )
                try:
                    await doc.insert()
                except DuplicateKeyError:
                    continue  # another delivery created it first: go round and compare-and-set instead
            else:
                doc = current.model_copy(
                    update={
                        **fields,
                        "version": current.version + 1,
                        "applied_event_ids": [*current.applied_event_ids, event_id][-APPLIED_IDS_KEPT:],
                        "pending_events": [*current.pending_events, *derived],
                        "pending_since": current.pending_since or (now if derived else None),
                    }
                )
                replaced = await replace_if({"_id": current.id, "version": current.version}, doc)
                if replaced is None:
                    continue  # someone else wrote first: re-read, re-fetch, try again
            await self._publish(doc, now)
            # Search reads the standing from the coverage rows: carry the new state there (idempotent; a crash
            # before it is finished by Stripe's retry of this event, above, or by the daily drift check).
            await provider_service.project_standing(str(provider.id))
            changes = [e.type for e in derived]
            log.info(
                "billing.subscription",
                provider_id=str(provider.id),
                status=state.status.value,
                tier=state.tier.value,
                events=changes,
            )
            return Outcome("processed", ", ".join(changes) or None)
        raise StripeUnavailable("The subscription is changing too fast to record; Stripe will retry.")

    async def backfill(self, items: list[tuple[ProviderProfile, Mapping[str, Any]]]) -> int:
        """Record Stripe subscription objects in bulk for providers with no state yet (an initial import of
        existing customers; the search benchmark's seed). Parsed exactly as events are; insert only, so it
        never overwrites state the webhook wrote. Returns how many were recorded. The standing reaches search
        when the providers' listings are (re)built, which read it (the benchmark builds its rows after the
        import), or at the next daily drift check, which re-projects every subscription's standing."""
        now = self.clock.now()
        docs = [
            ProviderSubscription(
                provider_id=str(provider.id),
                provider_user_id=provider.owner_id,
                version=1,
                **StripeState.of(sub, self.settings).fields(now),
            ).model_dump(by_alias=True, exclude={"id", "revision_id"})
            for provider, sub in items
        ]
        return await insert_new(ProviderSubscription.get_pymongo_collection(), docs)

    # --- outbox: the domain events ride in the document, then move to the outbox -------------------

    async def _publish(self, doc: ProviderSubscription, now: datetime) -> None:
        if not doc.pending_events:
            return
        await outbox_service.append([(AGGREGATE, doc.provider_id, e) for e in doc.pending_events], now)
        await ProviderSubscription.get_pymongo_collection().update_one(
            {"_id": doc.id, "version": doc.version}, {"$set": {"pending_events": [], "pending_since": None}}
        )

    async def publish_stale(self, now: datetime) -> int:
        """Finish every outbox move a crash interrupted (run by the scheduler's sweep)."""
        stuck = await ProviderSubscription.find({"pending_since": {"$lte": now - STALE_AFTER}}).to_list()
        for doc in stuck:
            await self._publish(doc, now)
        return len(stuck)

    # --- drift check: stored state against Stripe's, repaired only through `ingest` ------------------

    async def check_drift(self) -> int:
        """Compare every stored subscription with Stripe's; log each difference and repair it by feeding the
        subscription through the same handler; where the state agrees, check the standing search reads from
        the coverage rows (repaired by re-projecting it). Returns how many were repaired."""
        repaired = 0
        async for doc in ProviderSubscription.find_all():
            fetched = await self._retrieve(doc.stripe_subscription_id)
            if fetched is None:
                log.warning(
                    "billing.drift_missing",
                    provider_id=doc.provider_id,
                    subscription=doc.stripe_subscription_id,
                )
                continue
            differences = StripeState.of(fetched, self.settings).differences(doc)
            if not differences:
                # The stored state is Stripe's: check what search reads of it (repaired there if not).
                repaired += await provider_service.standing_drift(doc.provider_id)
                continue
            for name, (stored, fresh) in differences.items():
                log.warning(
                    "billing.drift",
                    provider_id=doc.provider_id,
                    field=name,
                    stored=str(stored),
                    stripe=str(fresh),
                )
            event = {
                "id": f"drift_{doc.stripe_subscription_id}_{int(self.clock.now().timestamp())}",
                "object": "event",
                "type": "customer.subscription.updated",
                "created": int(self.clock.now().timestamp()),
                "data": {"object": fetched},
            }
            await self.ingest(event, source="drift_check", force=True)
            repaired += 1
        return repaired + await provider_service.listed_without_standing()

    # --- helpers -------------------------------------------------------------------------------------

    async def _retrieve(self, sub_id: str) -> dict[str, Any] | None:
        try:
            with stripe_errors("read the subscription"):
                sub = await self.client.v1.subscriptions.retrieve_async(sub_id)
        except stripe.InvalidRequestError as exc:
            if exc.http_status == 404:
                return None
            raise
        found: dict[str, Any] = sub.to_dict()
        return found

    async def _provider_of(self, obj: Mapping[str, Any]) -> ProviderProfile | None:
        """The provider an event's object belongs to: by its Stripe customer (recorded at checkout), else by
        the `provider_id` metadata our checkout puts on the session and the subscription."""
        customer = await BillingCustomer.find_one(
            BillingCustomer.stripe_customer_id == _id_of(obj.get("customer"))
        )
        details = (obj.get("parent") or {}).get("subscription_details") or {}
        metadata = obj.get("metadata") or details.get("metadata") or {}
        provider_id = customer.provider_id if customer else metadata.get("provider_id")
        oid = parse_object_id(provider_id) if provider_id else None
        return await ProviderProfile.get(oid) if oid else None

    async def _mark_processed(self, event_id: str, event_type: str, outcome: str) -> None:
        # A concurrent delivery of the same event may have recorded it first.
        with contextlib.suppress(DuplicateKeyError):
            await ProcessedStripeEvent(
                event_id=event_id, type=event_type, outcome=outcome, processed_at=self.clock.now()
            ).insert()

    def _ledger(
        self,
        body: str,
        headers: dict[str, str],
        source: str,
        *,
        signature_valid: bool,
        outcome: str,
        detail: str | None = None,
        event_id: str | None = None,
        event_type: str | None = None,
        reprocess_of: str | None = None,
    ) -> WebhookDelivery:
        now, oid = self.clock.now(), ObjectId()
        return WebhookDelivery(
            id=oid,
            received_at=now,
            source=source,
            headers=headers,
            body=body[:MAX_STORED_BODY],
            signature_valid=signature_valid,
            event_id=event_id,
            event_type=event_type,
            outcome=outcome,
            detail=detail,
            reprocess_of=reprocess_of,
            expires_at=now + timedelta(days=self.settings.webhook_ledger_retention_days),
            received_key=sortable_key(now, oid),
        )

    async def _finish(
        self,
        delivery: WebhookDelivery,
        started: float,
        outcome: str,
        detail: str | None = None,
        error: str | None = None,
    ) -> None:
        # Strings and numbers only: a top-level datetime written by $set would be stored as a string.
        update: dict[str, Any] = {
            "outcome": outcome,
            "detail": detail,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        }
        if error is not None:
            update["error"] = error
            update["traceback"] = traceback.format_exc()[-8000:]
        await WebhookDelivery.get_pymongo_collection().update_one({"_id": delivery.id}, {"$set": update})
        WEBHOOK_OUTCOMES.labels(outcome).inc()
