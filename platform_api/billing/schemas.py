"""Billing request/response models."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from platform_api.entitlements.subscriptions import SubscriptionView
from platform_api.entitlements.tiers import ENTITLEMENTS, Entitlements
from shared_models.documents import WebhookDelivery
from shared_models.enums import SubscriptionStatus, SubscriptionTier


class CheckoutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tier: Literal["basic", "pro", "premium"] = Field(examples=["pro"])


class CheckoutSessionOut(BaseModel):
    session_id: str = Field(examples=["cs_test_a1b2c3"])
    url: str = Field(description="Stripe Checkout: send the provider here to pay.")


class PortalSessionOut(BaseModel):
    url: str = Field(description="Stripe's billing portal: change tier, update the card, cancel.")


class SubscriptionOut(BaseModel):
    """The stored subscription state (read-only: it changes only when Stripe's webhook says so)."""

    status: SubscriptionStatus | Literal["none"]
    tier: SubscriptionTier | None
    price_id: str | None
    current_period_end: datetime | None
    cancel_at_period_end: bool
    accepts_requests: bool = Field(description="May take booking requests and appear in search.")
    entitlements: Entitlements | None
    updated_at: datetime | None

    @classmethod
    def of(cls, view: SubscriptionView | None) -> "SubscriptionOut":
        if view is None:
            return cls(
                status="none",
                tier=None,
                price_id=None,
                current_period_end=None,
                cancel_at_period_end=False,
                accepts_requests=False,
                entitlements=None,
                updated_at=None,
            )
        return cls(
            status=view.status,
            tier=view.tier,
            price_id=view.price_id,
            current_period_end=view.current_period_end,
            cancel_at_period_end=view.cancel_at_period_end,
            accepts_requests=view.entitled,
            entitlements=ENTITLEMENTS[view.tier] if view.entitled else None,
            updated_at=view.updated_at,
        )


class WebhookAck(BaseModel):
    received: bool = True
    outcome: str = Field(examples=["processed"], description="processed, duplicate or ignored")
    detail: str | None = None


class DeliverySummary(BaseModel):
    id: str
    received_at: datetime
    source: str
    signature_valid: bool
    event_id: str | None
    event_type: str | None
    outcome: str
    detail: str | None
    error: str | None
    duration_ms: float | None
    reprocess_of: str | None

    @classmethod
    def of(cls, d: WebhookDelivery) -> "DeliverySummary":
        return cls(
            id=str(d.id),
            received_at=d.received_at,
            source=d.source,
            signature_valid=d.signature_valid,
            event_id=d.event_id,
            event_type=d.event_type,
            outcome=d.outcome,
            detail=d.detail,
            error=d.error,
            duration_ms=d.duration_ms,
            reprocess_of=d.reprocess_of,
        )


class DeliveryOut(DeliverySummary):
    headers: dict[str, str]
    body: str
    traceback: str | None

    @classmethod
    def full(cls, d: WebhookDelivery) -> "DeliveryOut":
        return cls(
            **DeliverySummary.of(d).model_dump(), headers=d.headers, body=d.body, traceback=d.traceback
        )


class DeliveryPage(BaseModel):
    items: list[DeliverySummary]
    next_cursor: str | None
