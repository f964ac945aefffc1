"""Booking request/response models."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared_models.clock import StoredDatetime
from shared_models.documents import (
    GeoPoint,
    Money,
    ServiceRequest,
    ServiceRequestSummary,
    TimeWindow,
    Transition,
)
from shared_models.enums import RequestEvent, RequestState, ServiceCategory
from shared_models.ids import Ref
from shared_models.text import Written

MAX_WINDOW_DAYS = 30


class TimeWindowIn(BaseModel):
    # UTC whole milliseconds from parsing on, as stored: the created request answers what a read returns.
    start: StoredDatetime = Field(examples=["2026-12-01T09:00:00Z"])
    end: StoredDatetime = Field(examples=["2026-12-01T12:00:00Z"])

    @model_validator(mode="after")
    def _ordered(self) -> "TimeWindowIn":
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("times need a timezone offset, e.g. 2026-12-01T09:00:00Z")
        if self.end <= self.start:
            raise ValueError("the window must end after it starts")
        if (self.end - self.start).days > MAX_WINDOW_DAYS:
            raise ValueError(f"the window may span at most {MAX_WINDOW_DAYS} days")
        return self


class CreateRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "provider_id": "6650f0c2a1b2c3d4e5f60718",
                    "category": "cleaning",
                    "description": "Deep clean of a two-bedroom flat before moving out.",
                    "address": "12 Example Street, London",
                    "location": {"lat": 51.5072, "lng": -0.1276},
                    "window": {"start": "2026-12-01T09:00:00Z", "end": "2026-12-01T12:00:00Z"},
                    "quote": {"amount_minor": 12000, "currency": "GBP"},
                }
            ]
        },
    )

    provider_id: Ref = Field(description="The provider profile's id.")
    category: ServiceCategory
    description: Written = Field(min_length=1, max_length=4000)
    address: Written = Field(min_length=1, max_length=300)
    location: GeoPoint
    window: TimeWindowIn
    quote: Money | None = None


class EventBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "The customer asked to move the date."}]}
    )

    reason: Written | None = Field(default=None, min_length=1, max_length=1000)
    quote: Money | None = Field(default=None, description="Accept only: the price the provider commits to.")


class RequestOut(BaseModel):
    id: str
    customer_id: str
    provider_id: str
    category: ServiceCategory
    description: str
    address: str
    location: GeoPoint
    window: TimeWindow
    quote: Money | None
    payment_required: bool = Field(
        description="Paid by card in the app: the customer authorises `quote` (POST /requests/{id}/payment) "
        "before the provider can accept; see GET /payments/cancellation-policy."
    )
    state: RequestState
    version: int
    respond_by: datetime | None
    confirm_by: datetime | None
    created_at: datetime
    updated_at: datetime
    allowed_events: list[RequestEvent] = Field(description="What the caller may do next.")

    @classmethod
    def of(cls, request: ServiceRequest | ServiceRequestSummary, allowed: list[RequestEvent]) -> "RequestOut":
        return cls(**cls._fields(request, allowed))

    @classmethod
    def checked(cls, request: ServiceRequestSummary, allowed: list[RequestEvent]) -> "RequestOut":
        """`of` without validating again: every field comes from a summary validated as it was read."""
        return cls.model_construct(**cls._fields(request, allowed))

    @staticmethod
    def _fields(
        request: ServiceRequest | ServiceRequestSummary, allowed: list[RequestEvent]
    ) -> dict[str, Any]:
        return {
            "id": str(request.id),
            "customer_id": request.customer_id,
            "provider_id": request.provider_id,
            "category": request.category,
            "description": request.description,
            "address": request.address,
            "location": request.location,
            "window": request.window,
            "quote": request.quote,
            "payment_required": request.payment_required,
            "state": request.state,
            "version": request.version,
            "respond_by": request.respond_by,
            "confirm_by": request.confirm_by,
            "created_at": request.created_at,
            "updated_at": request.updated_at,
            "allowed_events": allowed,
        }


class RequestDetailOut(RequestOut):
    history: list[Transition]


class RequestPage(BaseModel):
    items: list[RequestOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")
