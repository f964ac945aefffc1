"""Double-blind reviews: one per party per booking, hidden until both wrote one or the window closed."""

from datetime import datetime
from typing import Annotated

from beanie import Document, Indexed
from pydantic import BaseModel, Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from shared_models.documents.bookings import DomainEvent
from shared_models.enums import ActorRole
from shared_models.ids import Ref


class ReviewReply(BaseModel):
    text: str
    at: datetime


class Review(Document):
    review_key: Annotated[str, Indexed(unique=True)]  # "<request id>:<author role>": once per party
    request_id: Ref
    author_id: Ref
    author_role: ActorRole  # customer (reviews the provider) or provider (reviews the customer)
    subject_id: Ref  # the user reviewed
    provider_id: Ref  # the ProviderProfile of the booking
    rating: int = Field(ge=1, le=5)
    text: str
    created_at: datetime
    publish_at: datetime  # the review window's end: published then at the latest
    published: bool = False  # (a flag, not `published_at: None`, which the engine cannot select on)
    published_at: datetime | None = None
    # "<provider id>:<published_at key>" once a customer's review is public: the provider's listing pages it.
    public_key: str | None = None
    reply: ReviewReply | None = None
    version: int = 1
    pending_events: list[DomainEvent] = Field(default_factory=list)
    pending_since: datetime | None = None

    class Settings:
        name = "reviews"
        indexes = [
            IndexModel([("request_id", ASCENDING)]),
            IndexModel([("author_id", ASCENDING)]),
            IndexModel([("subject_id", ASCENDING)]),
            IndexModel([("provider_id", ASCENDING)]),
            IndexModel([("published", ASCENDING)]),
            IndexModel([("published", ASCENDING), ("publish_at", ASCENDING)]),
            IndexModel([("public_key", DESCENDING)]),
            IndexModel([("pending_since", ASCENDING)]),
        ]
