"""Billing: the provider's subscription state (one writer: the Stripe webhook module), Stripe customers,
processed Stripe events and the raw webhook ledger."""

from datetime import datetime
from typing import Annotated

from beanie import Document, Indexed
from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from shared_models.documents.bookings import DomainEvent
from shared_models.enums import SubscriptionStatus, SubscriptionTier
from shared_models.ids import Ref

# Statuses in which a provider keeps doing business. `past_due` is Stripe's retry period after a failed
# charge: the provider keeps access while Stripe retries; Stripe then moves it to `unpaid` or `canceled`.
ENTITLED_STATUSES = frozenset(
    {SubscriptionStatus.active, SubscriptionStatus.trialing, SubscriptionStatus.past_due}
)
# Statuses after which a subscription can never come back (a new checkout makes a new subscription).
ENDED_STATUSES = frozenset({SubscriptionStatus.canceled, SubscriptionStatus.incomplete_expired})


class ProviderSubscription(Document):
    """The one document holding a provider's subscription state.

    Written only by `platform_api.billing.webhook` (a test enforces it); everything else reads it through
    `platform_api.entitlements.subscriptions`.
    """

    provider_id: Annotated[Ref, Indexed(unique=True)]
    provider_user_id: Ref
    stripe_customer_id: str
    stripe_subscription_id: Annotated[str, Indexed()]
    status: SubscriptionStatus
    tier: SubscriptionTier
    price_id: str | None
    current_period_end: datetime | None
    cancel_at_period_end: bool
    subscription_created: int  # Stripe's `created` (unix seconds) of the tracked subscription
    version: int
    # The Stripe events already applied, written in the same atomic replace as the state they caused.
    applied_event_ids: list[str] = Field(default_factory=list)
    pending_events: list[DomainEvent] = Field(default_factory=list)
    pending_since: datetime | None = None
    updated_at: datetime

    @property
    def entitled(self) -> bool:
        return self.status in ENTITLED_STATUSES

    class Settings:
        name = "provider_subscriptions"
        indexes = [IndexModel([("pending_since", ASCENDING)])]


class BillingCustomer(Document):
    """The Stripe customer of a provider, created at its first checkout and reused after."""

    provider_id: Annotated[Ref, Indexed(unique=True)]
    stripe_customer_id: Annotated[str, Indexed(unique=True)]
    created_at: datetime

    class Settings:
        name = "billing_customers"


class ProcessedStripeEvent(Document):
    """Stripe event ids already handled: a redelivery is answered without touching anything."""

    event_id: Annotated[str, Indexed(unique=True)]
    type: str
    outcome: str
    processed_at: datetime

    class Settings:
        name = "stripe_events"


class WebhookDelivery(Document):
    """Every webhook delivery, raw, with its outcome: the answer to "what did Stripe send, what did we do"."""

    received_at: datetime
    source: str  # stripe | replay | reprocess | drift_check
    headers: dict[str, str]
    body: str
    signature_valid: bool
    event_id: str | None = None
    event_type: str | None = None
    outcome: str  # received | processed | duplicate | ignored | rejected | failed
    detail: str | None = None
    error: str | None = None
    traceback: str | None = None
    duration_ms: float | None = None
    reprocess_of: str | None = None
    # Set at insert (never by $set: the engine would store it as a string); the TTL index expires it.
    expires_at: datetime
    received_key: str  # received_at + id, sortable: the admin list's cursor

    class Settings:
        name = "webhook_deliveries"
        indexes = [
            IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0),
            IndexModel([("received_key", DESCENDING)]),
            IndexModel([("outcome", ASCENDING)]),
            IndexModel([("outcome", ASCENDING), ("received_key", DESCENDING)]),
            IndexModel([("event_id", ASCENDING)]),
        ]
