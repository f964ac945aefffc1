"""Payment views: a booking's payment (parties and admins), a provider's connected account, hosted links, and
the cancellation policy. Amounts are integer minor units of `currency` (ISO 4217)."""

from datetime import datetime

from pydantic import BaseModel, Field

from platform_api.payments.policy import CANCELLATION_POLICY, RELEASED_STATES
from platform_api.payments.service import PaymentView
from shared_models.documents.payments import (
    ConnectedAccount,
    PaymentAction,
    PaymentIntentStatus,
    RefundRecord,
)
from shared_models.enums import ActorRole, RequestState


class InstructionOut(BaseModel):
    """What we asked Stripe to do with the money, once (`executed_at` None: not yet accepted by Stripe)."""

    action: PaymentAction
    amount: int
    rule: str = Field(description="Why: a cancellation rule's name, `accepted`, `declined`, `expired` or "
                      "`dispute_resolution`.")  # fmt: skip
    decided_at: datetime
    executed_at: datetime | None
    last_error: str | None


class PaymentOut(BaseModel):
    """A booking's payment as Stripe last reported it (by webhook). `status` is the PaymentIntent's:
    `requires_capture` = authorised, `succeeded` = captured, `canceled` = released. `amount_refunded` counts
    only refunds Stripe reported succeeded; `refunds` lists each with its own status."""

    request_id: str
    status: PaymentIntentStatus
    amount: int
    currency: str
    application_fee_amount: int = Field(description="The platform's commission on this booking.")
    amount_capturable: int
    amount_received: int
    amount_refunded: int
    refunds: list[RefundRecord]
    instructions: list[InstructionOut]
    last_payment_error: str | None
    stripe_payment_intent_id: str
    updated_at: datetime

    @classmethod
    def of(cls, view: PaymentView) -> "PaymentOut":
        p = view.payment
        return cls(
            request_id=str(p.id),
            status=p.status,
            amount=p.amount,
            currency=p.currency,
            application_fee_amount=p.application_fee_amount,
            amount_capturable=p.amount_capturable,
            amount_received=p.amount_received,
            amount_refunded=p.amount_refunded,
            refunds=p.refunds,
            instructions=[
                InstructionOut(
                    action=i.action,
                    amount=i.amount,
                    rule=i.rule,
                    decided_at=i.decided_at,
                    executed_at=i.executed_at,
                    last_error=i.last_error,
                )
                for i in sorted(view.instructions, key=lambda i: i.decided_at)
            ],
            last_payment_error=p.last_payment_error,
            stripe_payment_intent_id=p.stripe_payment_intent_id,
            updated_at=p.updated_at,
        )


class PaymentStartedOut(PaymentOut):
    client_secret: str | None = Field(
        description="Give it to Stripe's Payment Element (web) or Payment Sheet (mobile) to confirm the "
        "payment; never log or store it."
    )

    @classmethod
    def started(cls, view: PaymentView) -> "PaymentStartedOut":
        return cls(**PaymentOut.of(view).model_dump(), client_secret=view.client_secret)


class ConnectedAccountOut(BaseModel):
    """The provider's Stripe Connect Express account, as `account.updated` last reported it."""

    stripe_account_id: str
    charges_enabled: bool = Field(description="Card-paid bookings can be requested and accepted.")
    payouts_enabled: bool
    details_submitted: bool
    requirements_due: list[str] = Field(description="Stripe's `requirements.currently_due`.")
    disabled_reason: str | None
    updated_at: datetime

    @classmethod
    def of(cls, account: ConnectedAccount) -> "ConnectedAccountOut":
        return cls(
            stripe_account_id=account.stripe_account_id,
            charges_enabled=account.charges_enabled,
            payouts_enabled=account.payouts_enabled,
            details_submitted=account.details_submitted,
            requirements_due=account.requirements_due,
            disabled_reason=account.disabled_reason,
            updated_at=account.updated_at,
        )


class HostedLinkOut(BaseModel):
    url: str = Field(description="Open it in a browser (or an in-app browser tab); it works once.")
    expires_at: datetime | None


class CancellationRuleOut(BaseModel):
    name: str
    state: RequestState = Field(description="The booking's state when it is cancelled.")
    cancelled_by: ActorRole
    min_notice_hours: float | None = Field(description="At least this long before the booked window starts.")
    refund_percent: int = Field(description="Of the amount captured; before acceptance nothing is captured.")
    summary: str


class CancellationPolicyOut(BaseModel):
    rules: list[CancellationRuleOut] = Field(description="The first rule that matches applies.")
    released_states: list[RequestState] = Field(
        description="Other ends before acceptance: the card authorisation is released, nothing is charged."
    )
    dispute: str

    @classmethod
    def current(cls) -> "CancellationPolicyOut":
        return cls(
            rules=[
                CancellationRuleOut(
                    name=r.name,
                    state=r.state,
                    cancelled_by=r.actor,
                    min_notice_hours=r.notice.total_seconds() / 3600 if r.notice else None,
                    refund_percent=r.refund_percent,
                    summary=r.summary,
                )
                for r in CANCELLATION_POLICY
            ],
            released_states=sorted(RELEASED_STATES),
            dispute="A dispute's decision refunds the amount the admin decides (none, part or all), once.",
        )
