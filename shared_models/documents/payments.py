"""Payments of bookings on Stripe Connect: the provider's connected account, each booking's PaymentIntent as
Stripe last reported it, and the money instructions we gave Stripe (capture, release, refund).

Writers (a test enforces them): `ConnectedAccount`'s capabilities and requirements and all of
`BookingPayment` are written only by the payments domain's webhook reducers (`platform_api.payments.webhook`),
from objects re-fetched from Stripe; `PaymentInstruction` only by the settlement
(`platform_api.payments.settlement`), as a unique-key claim per booking and action. Amounts are integer minor
units of the booking's ISO 4217 currency (Stripe's `amount`, lower-case `currency` on Stripe's side).
"""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from beanie import Document, Indexed
from pydantic import BaseModel, Field
from pymongo import ASCENDING, IndexModel

from shared_models.ids import Ref


class ConnectedAccount(Document):
    """A provider's Stripe Connect Express account. Created (unique per provider) when the provider first
    asks for an onboarding link, with every capability off; from then on only `account.updated` writes it."""

    provider_id: Annotated[Ref, Indexed(unique=True)]
    provider_user_id: Ref
    stripe_account_id: Annotated[str, Indexed(unique=True)]
    charges_enabled: bool = False
    payouts_enabled: bool = False
    details_submitted: bool = False
    # Stripe's `requirements.currently_due` and `requirements.disabled_reason`.
    requirements_due: list[str] = Field(default_factory=list)
    disabled_reason: str | None = None
    version: int = 1
    applied_event_ids: list[str] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime

    class Settings:
        name = "connected_accounts"


class PaymentIntentStatus(StrEnum):
    """Stripe's PaymentIntent statuses."""

    requires_payment_method = "requires_payment_method"
    requires_confirmation = "requires_confirmation"
    requires_action = "requires_action"
    processing = "processing"
    requires_capture = "requires_capture"
    succeeded = "succeeded"
    canceled = "canceled"


class RefundRecord(BaseModel):
    """One of Stripe's refunds of the payment, as Stripe reported it (`status`: pending, requires_action,
    succeeded, failed, canceled)."""

    id: str
    amount: int
    status: str
    purpose: str | None = None  # our metadata: cancellation | dispute
    created: int  # Stripe's unix seconds


class BookingPayment(Document):
    """A booking's payment: a destination charge to the provider's connected account with the platform's
    application fee, authorised when the customer pays and captured when the provider accepts. `_id` is the
    booking's (ServiceRequest) id. Every field after creation is Stripe's, re-fetched on each webhook."""

    customer_id: Ref
    provider_id: Ref
    provider_user_id: Ref
    stripe_payment_intent_id: Annotated[str, Indexed(unique=True)]
    stripe_account_id: str  # the destination (`transfer_data.destination`)
    amount: int
    currency: str  # ISO 4217, upper case like the booking's quote
    application_fee_amount: int
    status: PaymentIntentStatus
    amount_capturable: int = 0
    amount_received: int = 0
    amount_refunded: int = 0  # the sum of succeeded refunds
    refunds: list[RefundRecord] = Field(default_factory=list)
    last_payment_error: str | None = None
    version: int = 1
    applied_event_ids: list[str] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime

    class Settings:
        name = "booking_payments"
        indexes = [IndexModel([("customer_id", ASCENDING)]), IndexModel([("provider_user_id", ASCENDING)])]


class PaymentAction(StrEnum):
    capture = "capture"  # the provider accepted: take the authorised amount
    release = "release"  # declined, expired or cancelled before acceptance: cancel the authorisation
    refund = "refund"  # cancelled after acceptance (per the policy) or a dispute decided a refund


class PaymentInstruction(Document):
    """What we asked Stripe to do with a booking's money: at most one per booking and action (`key` is
    `<booking id>:<action>`, a unique-key claim), sent with that same string as Stripe's idempotency key,
    so a retry, a concurrent caller or the settle sweep can never do it twice."""

    key: Annotated[str, Indexed(unique=True)]
    request_id: Ref
    stripe_payment_intent_id: str
    action: PaymentAction
    amount: int  # 0 for a release
    # A capture of less than was authorised sends the fee in proportion (None: the PaymentIntent's own).
    application_fee_amount: int | None = None
    currency: str
    rule: str  # why: the policy rule or `dispute_resolution`
    decided_at: datetime
    executed_at: datetime | None = None
    stripe_object_id: str | None = None  # the refund's id, or the PaymentIntent's
    attempts: int = 0
    last_error: str | None = None

    class Settings:
        name = "payment_instructions"
        indexes = [IndexModel([("request_id", ASCENDING)]), IndexModel([("executed_at", ASCENDING)])]
