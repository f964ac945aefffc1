"""ServiceRequest: a customer's booking of a provider, moved only by the booking state machine."""

import uuid
from datetime import datetime
from typing import Any

from beanie import Document, PydanticObjectId
from pydantic import BaseModel, Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from shared_models.enums import ActorRole, RequestState, ServiceCategory
from shared_models.ids import Ref


class GeoPoint(BaseModel):
    lat: float = Field(ge=-90, le=90, strict=True)
    lng: float = Field(ge=-180, le=180, strict=True)


MAX_AMOUNT_MINOR = 1_000_000_000  # the largest amount any price or quote may have


class Money(BaseModel):
    # Strict: JSON `true` is not an amount.
    amount_minor: int = Field(
        ge=0, le=MAX_AMOUNT_MINOR, strict=True, description="Integer minor units (cents)."
    )
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. EUR.")


class TimeWindow(BaseModel):
    start: datetime
    end: datetime


class Transition(BaseModel):
    from_state: RequestState | None  # None for the creation entry
    to_state: RequestState
    event: str
    actor_id: str | None  # None when the actor is the system
    actor_role: ActorRole
    at: datetime
    reason: str | None = None


class DomainEvent(BaseModel):
    """Written in the same atomic update as the state change, then copied to the outbox by its id (a new
    uuid unless the producer derives one, so that a retry yields the same event)."""

    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    type: str
    occurred_at: datetime
    payload: dict[str, Any]


class DisputeOpening(BaseModel):
    """What the customer said when disputing, stored with the transition so the dispute can always be
    (re)built from the request alone."""

    category: str
    statement: str


class Resolution(BaseModel):
    outcome: str
    refund_minor: int | None = None
    currency: str | None = None


class ServiceRequest(Document):
    customer_id: Ref
    provider_id: Ref  # the ProviderProfile (tenant)
    provider_user_id: Ref  # its owner, so "my requests" as a provider is one indexed equality
    category: ServiceCategory
    description: str
    address: str
    location: GeoPoint
    window: TimeWindow
    quote: Money | None = None
    # Paid by card through the app (the provider could take charges when it was requested): the customer
    # authorises `quote` before the provider can accept (platform_api.payments).
    payment_required: bool = False
    state: RequestState
    version: int
    history: list[Transition]
    pending_events: list[DomainEvent] = Field(default_factory=list)
    # Set while pending_events holds something not yet in the outbox: the sweeper's only index.
    pending_since: datetime | None = None
    respond_by: datetime | None = None
    confirm_by: datetime | None = None
    remind_at: datetime | None = None  # when this state's reminder is due (cleared once sent)
    dispute_opening: DisputeOpening | None = None
    resolution: Resolution | None = None
    created_at: datetime
    updated_at: datetime
    # created_at + id as one sortable string: a stable, unique cursor served by a compound index.
    created_key: str

    class Settings:
        name = "service_requests"
        # The engine treats an equality as index-served only when some index ends with that field, so each
        # equality field also has its own single-field index (harmless on MongoDB).
        indexes = [
            IndexModel([("customer_id", ASCENDING)]),
            IndexModel([("provider_user_id", ASCENDING)]),
            IndexModel([("state", ASCENDING)]),
            IndexModel([("customer_id", ASCENDING), ("created_key", DESCENDING)]),
            IndexModel([("customer_id", ASCENDING), ("state", ASCENDING), ("created_key", DESCENDING)]),
            IndexModel([("provider_user_id", ASCENDING), ("created_key", DESCENDING)]),
            IndexModel([("provider_user_id", ASCENDING), ("state", ASCENDING), ("created_key", DESCENDING)]),
            IndexModel([("state", ASCENDING), ("respond_by", ASCENDING)]),
            IndexModel([("state", ASCENDING), ("confirm_by", ASCENDING)]),
            IndexModel([("state", ASCENDING), ("remind_at", ASCENDING)]),
            IndexModel([("pending_since", ASCENDING)]),
            IndexModel([("payment_required", ASCENDING)]),
            IndexModel([("payment_required", ASCENDING), ("updated_at", ASCENDING)]),
        ]


class ServiceRequestSummary(BaseModel):
    """A request without its history and pending events: what lists show (validated from the whole
    document, ignoring the rest; see `platform_api.bookings.repository.my_page` for why not a projection)."""

    id: PydanticObjectId = Field(alias="_id")
    customer_id: str
    provider_id: str
    provider_user_id: str
    category: ServiceCategory
    description: str
    address: str
    location: GeoPoint
    window: TimeWindow
    quote: Money | None = None
    payment_required: bool = False
    state: RequestState
    version: int
    respond_by: datetime | None = None
    confirm_by: datetime | None = None
    created_at: datetime
    updated_at: datetime
    created_key: str
