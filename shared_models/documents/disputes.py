"""A dispute about a completed booking: its state (moved only by the disputes state machine) and its
append-only evidence."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from beanie import Document, Indexed
from pydantic import BaseModel, Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from shared_models.documents.bookings import DomainEvent
from shared_models.enums import ActorRole
from shared_models.ids import Ref


class DisputeState(StrEnum):
    open = "open"  # both parties add evidence until the provider's response deadline
    awaiting_info = "awaiting_info"  # an admin asked one party for more; they have until the deadline
    under_review = "under_review"  # evidence closed; an admin decides
    resolved = "resolved"


class DisputeCategory(StrEnum):
    not_performed = "not_performed"
    poor_quality = "poor_quality"
    damage = "damage"
    overcharged = "overcharged"
    no_show = "no_show"
    unprofessional = "unprofessional"
    other = "other"


class DisputeOutcome(StrEnum):
    customer_favoured = "customer_favoured"
    provider_favoured = "provider_favoured"
    split_costs = "split"  # `split` would shadow str.split


class RefundKind(StrEnum):
    full = "full"
    partial = "partial"


class Refund(BaseModel):
    kind: RefundKind
    amount_minor: int = Field(ge=0)
    currency: str


class DisputeStep(BaseModel):
    """One entry of the dispute's own history, written in the same compare-and-set as the change."""

    from_state: DisputeState | None
    to_state: DisputeState
    event: str
    actor_id: str | None
    actor_role: ActorRole
    at: datetime
    note: str | None = None
    party: str | None = None  # info requests: whom the admin asked


class Dispute(Document):
    request_id: Annotated[Ref, Indexed(unique=True)]  # one dispute per booking
    customer_id: Ref
    provider_user_id: Ref
    provider_id: Ref
    category: DisputeCategory
    statement: str
    state: DisputeState
    version: int
    history: list[DisputeStep]
    # Evidence is accepted from `evidence_from` ("both", "customer" or "provider") while now < respond_by.
    respond_by: datetime | None = None
    remind_at: datetime | None = None  # the provider's reminder before the response deadline (once)
    evidence_from: str | None = None
    assigned_admin_id: Ref | None = None
    outcome: DisputeOutcome | None = None
    refund: Refund | None = None
    resolution_note: str | None = None
    resolved_at: datetime | None = None
    pending_events: list[DomainEvent] = Field(default_factory=list)
    pending_since: datetime | None = None
    opened_at: datetime
    updated_at: datetime
    opened_key: str  # opened_at + id, sortable: list and page by age

    class Settings:
        name = "disputes"
        indexes = [
            IndexModel([("customer_id", ASCENDING)]),
            IndexModel([("provider_user_id", ASCENDING)]),
            IndexModel([("state", ASCENDING)]),
            IndexModel([("category", ASCENDING)]),
            IndexModel([("opened_key", DESCENDING)]),
            IndexModel([("state", ASCENDING), ("opened_key", DESCENDING)]),
            IndexModel([("category", ASCENDING), ("opened_key", DESCENDING)]),
            IndexModel([("customer_id", ASCENDING), ("opened_key", DESCENDING)]),
            IndexModel([("provider_user_id", ASCENDING), ("opened_key", DESCENDING)]),
            IndexModel([("state", ASCENDING), ("respond_by", ASCENDING)]),
            IndexModel([("state", ASCENDING), ("remind_at", ASCENDING)]),
            IndexModel([("state", ASCENDING), ("category", ASCENDING), ("opened_key", DESCENDING)]),
            IndexModel([("pending_since", ASCENDING)]),
        ]


class EvidenceKind(StrEnum):
    statement = "statement"
    media = "media"


class DisputeEvidence(Document):
    """Immutable once written: nothing updates or deletes these (corrections are new items that name the
    item they correct)."""

    dispute_id: Ref
    author_id: Ref
    author_role: ActorRole
    kind: EvidenceKind
    text: str | None = None
    media_id: Ref | None = None
    media_key: str | None = None
    filename: str | None = None
    content_type: str | None = None
    size: int | None = None
    sha256: str | None = None
    corrects: Ref | None = None
    created_at: datetime
    seq_key: str  # created_at + id: the timeline's order

    class Settings:
        name = "dispute_evidence"
        indexes = [
            IndexModel([("dispute_id", ASCENDING)]),
            IndexModel([("author_id", ASCENDING)]),
            IndexModel([("dispute_id", ASCENDING), ("seq_key", ASCENDING)]),
        ]
