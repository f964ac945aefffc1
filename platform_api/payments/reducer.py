"""The payments domain's webhook reducers: the only writers of a booking's payment state (`BookingPayment`) and
of a connected account's capabilities (`ConnectedAccount`), run by the one Stripe webhook handler
(`platform_api.billing.webhook`: signature, ledger, dedupe by event id, replay) for the event types here.

Order-proof as the subscription reducer is: an event only says *which* object changed; the reducer
re-fetches that object (and a payment's refunds) from Stripe and writes what Stripe has now, by a
compare-and-set on the document's version. Events arriving late, twice or shuffled all end in Stripe's
current state, and a forged body (even one signed with a leaked secret) can only make us read Stripe again.
"""

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import stripe
import structlog
from beanie import PydanticObjectId
from pymongo.errors import DuplicateKeyError

from platform_api.billing.errors import StripeUnavailable
from platform_api.billing.stripe_api import id_of, retrieved, stripe_errors
from platform_api.billing.webhook import StripeWebhook
from platform_api.billing.webhook.ledger import Outcome
from shared_models import store
from shared_models.clock import Clock
from shared_models.documents.payments import (
    BookingPayment,
    ConnectedAccount,
    PaymentIntentStatus,
    RefundRecord,
)
from shared_models.ids import parse_object_id

log = structlog.get_logger(__name__)

CAS_ATTEMPTS = 5
APPLIED_IDS_KEPT = 50

PAYMENT_EVENT_TYPES = frozenset(
    {
        "payment_intent.created",
        "payment_intent.amount_capturable_updated",
        "payment_intent.processing",
        "payment_intent.requires_action",
        "payment_intent.payment_failed",
        "payment_intent.succeeded",
        "payment_intent.canceled",
        "charge.succeeded",
        "charge.failed",
        "charge.captured",
        "charge.refunded",
        "refund.created",
        "refund.updated",
        "refund.failed",
    }
)
ACCOUNT_EVENT_TYPES = frozenset({"account.updated"})


class StripeSource(Protocol):
    """Where a reducer reads Stripe and the time: the webhook handler (its client is swapped as one)."""

    @property
    def client(self) -> stripe.StripeClient: ...

    @property
    def clock(self) -> Clock: ...


def attach(webhook: StripeWebhook) -> None:
    """Route the payments domain's event types to its reducers on the one webhook handler."""
    webhook.route(PAYMENT_EVENT_TYPES, PaymentReducer(webhook).apply)
    webhook.route(ACCOUNT_EVENT_TYPES, AccountReducer(webhook).apply)


def payment_intent_id_of(event: Mapping[str, Any]) -> str | None:
    """The PaymentIntent an event is about: the object itself, or a charge's or refund's `payment_intent`."""
    obj = event["data"]["object"]
    if obj.get("object") == "payment_intent":
        return id_of(obj.get("id"), "pi")
    return id_of(obj.get("payment_intent"), "pi")


def refund_records(refunds: Sequence[Mapping[str, Any]]) -> list[RefundRecord]:
    return [
        RefundRecord(
            id=str(r["id"]),
            amount=int(r["amount"]),
            status=str(r["status"]),
            purpose=(r.get("metadata") or {}).get("purpose"),
            created=int(r["created"]),
        )
        for r in sorted(refunds, key=lambda r: (int(r["created"]), str(r["id"])))
    ]


def payment_fields(intent: Mapping[str, Any], refunds: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What we keep of Stripe's PaymentIntent and its refunds."""
    records = refund_records(refunds)
    error = intent.get("last_payment_error") or {}
    return {
        "status": PaymentIntentStatus(intent["status"]),
        "amount_capturable": int(intent.get("amount_capturable") or 0),
        "amount_received": int(intent.get("amount_received") or 0),
        "amount_refunded": sum(r.amount for r in records if r.status == "succeeded"),
        "refunds": records,
        "last_payment_error": error.get("message") or error.get("code"),
    }


class PaymentReducer:
    """Applies an event about a booking's PaymentIntent (or its charge or refunds) to `BookingPayment`."""

    def __init__(self, stripe_source: StripeSource) -> None:
        self.source = stripe_source

    async def apply(self, event: Mapping[str, Any], force: bool) -> Outcome:
        intent_id = payment_intent_id_of(event)
        if intent_id is None:
            return Outcome("ignored", "not about a payment intent")
        return await self.record(intent_id, str(event["id"]), force)

    async def record(self, intent_id: str, event_id: str | None, force: bool = False) -> Outcome:
        """Write the PaymentIntent as Stripe has it now (created from its metadata the first time). Raises
        StripeUnavailable when Stripe cannot be read or the payment changes faster than we can record it."""
        for _ in range(CAS_ATTEMPTS):
            current = await BookingPayment.find_one(BookingPayment.stripe_payment_intent_id == intent_id)
            if current is not None and event_id in current.applied_event_ids and not force:
                return Outcome("duplicate")
            intent = await self._retrieve(intent_id)
            if intent is None:
                return Outcome("ignored", f"Stripe has no payment intent {intent_id}")
            refunds = await self._refunds(intent_id)
            now = self.source.clock.now()
            fields = payment_fields(intent, refunds)
            applied = [event_id] if event_id else []
            if current is None:
                doc = self._new(intent, fields, applied, now)
                if doc is None:
                    return Outcome("ignored", f"{intent_id} is not a booking payment of ours")
                other = await BookingPayment.get(doc.id)
                if other is not None and other.stripe_payment_intent_id != intent_id:
                    # One PaymentIntent per booking: another one naming it (never shown to the app, made by
                    # hand or on older terms) is not its payment.
                    return Outcome("ignored", f"booking {doc.id} is paid by {other.stripe_payment_intent_id}")
                try:
                    await doc.insert()
                except DuplicateKeyError:
                    continue  # recorded meanwhile by another delivery or the payment's start: compare-and-set
            else:
                doc = current.model_copy(
                    update={
                        **fields,
                        "version": current.version + 1,
                        "applied_event_ids": [*current.applied_event_ids, *applied][-APPLIED_IDS_KEPT:],
                        "updated_at": now,
                    }
                )
                if await store.replace_if({"_id": current.id, "version": current.version}, doc) is None:
                    continue  # someone else wrote first: re-read, re-fetch, try again
            log.info(
                "payments.recorded",
                request_id=str(doc.id),
                status=doc.status.value,
                amount_received=doc.amount_received,
                amount_refunded=doc.amount_refunded,
            )
            return Outcome("processed", doc.status.value)
        raise StripeUnavailable("The payment is changing too fast to record; Stripe will retry.")

    def _new(
        self, intent: Mapping[str, Any], fields: dict[str, Any], applied: list[str], now: Any
    ) -> BookingPayment | None:
        metadata = intent.get("metadata") or {}
        request_id = parse_object_id(str(metadata.get("request_id", "")))
        destination = id_of((intent.get("transfer_data") or {}).get("destination"), "acct")
        if request_id is None or destination is None:
            return None
        return BookingPayment(
            id=PydanticObjectId(request_id),
            customer_id=str(metadata.get("customer_id", "")),
            provider_id=str(metadata.get("provider_id", "")),
            provider_user_id=str(metadata.get("provider_user_id", "")),
            stripe_payment_intent_id=str(intent["id"]),
            stripe_account_id=destination,
            amount=int(intent["amount"]),
            currency=str(intent["currency"]).upper(),
            application_fee_amount=int(intent.get("application_fee_amount") or 0),
            applied_event_ids=applied,
            created_at=now,
            updated_at=now,
            **fields,
        )

    async def _retrieve(self, intent_id: str) -> dict[str, Any] | None:
        intents = self.source.client.v1.payment_intents
        return await retrieved("read the payment", lambda: intents.retrieve_async(intent_id))

    async def _refunds(self, intent_id: str) -> list[dict[str, Any]]:
        with stripe_errors("read the payment's refunds"):
            page = await self.source.client.v1.refunds.list_async(
                params={"payment_intent": intent_id, "limit": 100}
            )
        return [r.to_dict() for r in page.data]


class AccountReducer:
    """Applies `account.updated` to the provider's `ConnectedAccount`: whether it can take charges and get
    payouts, and what Stripe still needs."""

    def __init__(self, stripe_source: StripeSource) -> None:
        self.source = stripe_source

    async def apply(self, event: Mapping[str, Any], force: bool) -> Outcome:
        account_id = id_of(event["data"]["object"].get("id"), "acct") or id_of(event.get("account"), "acct")
        if account_id is None:
            return Outcome("ignored", "not about an account")
        event_id = str(event["id"])
        for _ in range(CAS_ATTEMPTS):
            current = await ConnectedAccount.find_one(ConnectedAccount.stripe_account_id == account_id)
            if current is None:
                return Outcome("ignored", f"account {account_id} belongs to no provider of ours")
            if event_id in current.applied_event_ids and not force:
                return Outcome("duplicate")
            account = await self._retrieve(account_id)
            if account is None:
                return Outcome("ignored", f"Stripe has no account {account_id}")
            requirements = account.get("requirements") or {}
            doc = current.model_copy(
                update={
                    "charges_enabled": bool(account.get("charges_enabled")),
                    "payouts_enabled": bool(account.get("payouts_enabled")),
                    "details_submitted": bool(account.get("details_submitted")),
                    "requirements_due": list(requirements.get("currently_due") or []),
                    "disabled_reason": requirements.get("disabled_reason"),
                    "version": current.version + 1,
                    "applied_event_ids": [*current.applied_event_ids, event_id][-APPLIED_IDS_KEPT:],
                    "updated_at": self.source.clock.now(),
                }
            )
            if await store.replace_if({"_id": current.id, "version": current.version}, doc) is None:
                continue
            log.info(
                "payments.account",
                provider_id=current.provider_id,
                charges_enabled=doc.charges_enabled,
                requirements_due=len(doc.requirements_due),
            )
            return Outcome("processed", "charges enabled" if doc.charges_enabled else "charges disabled")
        raise StripeUnavailable("The account is changing too fast to record; Stripe will retry.")

    async def _retrieve(self, account_id: str) -> dict[str, Any] | None:
        accounts = self.source.client.v1.accounts
        return await retrieved("read the connected account", lambda: accounts.retrieve_async(account_id))
