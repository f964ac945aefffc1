"""The subscription reducer: Stripe's subscription object → the state we keep, the domain events a change
causes, and the one compare-and-set that applies both.

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
derives — happen once, also under concurrent redelivery.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import stripe
import structlog
from pymongo.errors import DuplicateKeyError

from platform_api.billing.errors import StripeUnavailable
from platform_api.billing.stripe_api import id_of, retrieved
from platform_api.billing.webhook.ledger import Outcome
from platform_api.billing.webhook.publishing import publish
from platform_api.config import Settings
from platform_api.entitlements.tiers import tier_for_price
from platform_api.providers.service import provider_service
from shared_models import store
from shared_models.clock import Clock, from_timestamp
from shared_models.documents import BillingCustomer, DomainEvent, ProviderProfile, ProviderSubscription
from shared_models.documents.billing import ENDED_STATUSES, ENTITLED_STATUSES
from shared_models.enums import SubscriptionStatus, SubscriptionTier
from shared_models.ids import parse_object_id

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
APPLIED_IDS_KEPT = 100
CAS_ATTEMPTS = 8


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
            customer_id=id_of(sub.get("customer")) or "",
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


def subscription_id_of(event: Mapping[str, Any]) -> str | None:
    obj = event["data"]["object"]
    kind = event["type"]
    if kind.startswith("customer.subscription."):
        return id_of(obj.get("id"))
    if kind == "checkout.session.completed":
        return id_of(obj.get("subscription")) if obj.get("mode") == "subscription" else None
    if kind.startswith("invoice."):
        # Older API versions: invoice.subscription; since 2025-03-31: invoice.parent.subscription_details.
        details = (obj.get("parent") or {}).get("subscription_details") or {}
        return id_of(obj.get("subscription")) or id_of(details.get("subscription"))
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


class SubscriptionReducer:
    """Applies an event about a subscription to the provider's `ProviderSubscription` (its only writer)."""

    def __init__(self, settings: Settings, client: stripe.StripeClient, clock: Clock) -> None:
        self.settings = settings
        self.client = client
        self.clock = clock

    async def apply(self, sub_id: str, event: Mapping[str, Any], force: bool) -> Outcome:
        """Apply an event about subscription `sub_id`: re-fetch it from Stripe, compare-and-set the state and
        the domain events it derives, publish them, carry the standing to search. Raises StripeUnavailable
        (Stripe unreachable, or the subscription changing faster than `CAS_ATTEMPTS` rounds)."""
        event_id, event_type = str(event["id"]), str(event["type"])
        provider = await self.provider_of(event["data"]["object"])
        if provider is None:
            return Outcome("ignored", f"subscription {sub_id} belongs to no provider of ours")
        for _ in range(CAS_ATTEMPTS):
            now = self.clock.now()
            current = await ProviderSubscription.find_one(
                ProviderSubscription.provider_id == str(provider.id)
            )
            if current is not None and event_id in current.applied_event_ids and not force:
                await publish(current, now)  # finish what a crash after the state write left pending
                await provider_service.project_standing(str(provider.id))  # likewise
                return Outcome("duplicate")
            # Fetched after the version was read: the state written is never older than the version it replaces.
            fetched = await self.retrieve(sub_id)
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
                replaced = await store.replace_if({"_id": current.id, "version": current.version}, doc)
                if replaced is None:
                    continue  # someone else wrote first: re-read, re-fetch, try again
            await publish(doc, now)
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
        return len(await store.insert_new(ProviderSubscription, docs))

    async def retrieve(self, sub_id: str) -> dict[str, Any] | None:
        """The subscription as Stripe has it now (None: Stripe has no such subscription)."""
        return await retrieved(
            "read the subscription", lambda: self.client.v1.subscriptions.retrieve_async(sub_id)
        )

    async def provider_of(self, obj: Mapping[str, Any]) -> ProviderProfile | None:
        """The provider an event's object belongs to: by its Stripe customer (recorded at checkout), else by
        the `provider_id` metadata our checkout puts on the session and the subscription."""
        customer = await BillingCustomer.find_one(
            BillingCustomer.stripe_customer_id == id_of(obj.get("customer"))
        )
        details = (obj.get("parent") or {}).get("subscription_details") or {}
        metadata = obj.get("metadata") or details.get("metadata") or {}
        provider_id = customer.provider_id if customer else metadata.get("provider_id")
        oid = parse_object_id(provider_id) if provider_id else None
        return await ProviderProfile.get(oid) if oid else None
