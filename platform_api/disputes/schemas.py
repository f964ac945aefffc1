"""Dispute request and response models (parties and the admin console)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared_models.documents import (
    Dispute,
    DisputeCategory,
    DisputeEvidence,
    DisputeOutcome,
    DisputeState,
    EvidenceKind,
    Refund,
    RefundKind,
)
from shared_models.enums import ActorRole
from shared_models.ids import Ref
from shared_models.text import Written


class OpenDispute(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"category": "poor_quality", "statement": "The tap still leaks after the visit."}]
        }
    )

    category: DisputeCategory
    statement: Written = Field(min_length=10, max_length=4000, description="What went wrong, in your words.")


class EvidenceIn(BaseModel):
    """Exactly one of `text` or `media_id` (a confirmed upload of yours)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"text": "Photos attached next."}, {"media_id": "6650f0c2a1b2c3d4e5f60718"}]
        }
    )

    text: Written | None = Field(default=None, min_length=1, max_length=4000)
    media_id: Ref | None = None
    corrects: Ref | None = Field(default=None, description="An earlier item of yours this one corrects.")


class EvidenceMedia(BaseModel):
    id: str
    filename: str | None
    content_type: str | None
    size: int | None
    sha256: str | None = Field(description="Of the stored object, computed by the server at confirmation.")


@dataclass(frozen=True)
class EvidenceLinks:
    """Short-lived storage links to one evidence item's file (admin views)."""

    download_url: str | None = None
    view_url: str | None = None


class EvidenceOut(BaseModel):
    id: str
    author_id: str
    author_role: ActorRole
    kind: EvidenceKind
    text: str | None
    media: EvidenceMedia | None
    corrects: str | None
    created_at: datetime
    download_url: str | None = Field(
        default=None, description="Admin views only; parties use GET /media/{id}/download."
    )
    view_url: str | None = Field(
        default=None,
        description="Admin views only, and only for images and PDFs: a short-lived link with an inline "
        "disposition, for showing the file in the page (an <img>, an <iframe>) from the storage origin.",
    )

    @classmethod
    def of(cls, item: DisputeEvidence, links: EvidenceLinks | None = None) -> "EvidenceOut":
        media = (
            EvidenceMedia(
                id=item.media_id, filename=item.filename, content_type=item.content_type, size=item.size,
                sha256=item.sha256,
            )
            if item.media_id
            else None
        )  # fmt: skip
        return cls(
            id=str(item.id),
            author_id=item.author_id,
            author_role=item.author_role,
            kind=item.kind,
            text=item.text,
            media=media,
            corrects=item.corrects,
            created_at=item.created_at,
            download_url=links.download_url if links else None,
            view_url=links.view_url if links else None,
        )


class DisputeOut(BaseModel):
    id: str
    request_id: str
    customer_id: str
    provider_user_id: str
    provider_id: str
    category: DisputeCategory
    statement: str
    state: DisputeState
    version: int
    respond_by: datetime | None = Field(description="Evidence closes then (for `evidence_from`).")
    evidence_from: str | None = Field(description="`both`, `customer`, `provider`, or null when closed.")
    assigned_admin_id: str | None
    outcome: DisputeOutcome | None
    refund: Refund | None
    resolution_note: str | None
    resolved_at: datetime | None
    opened_at: datetime
    updated_at: datetime
    cursor: str

    @classmethod
    def of(cls, d: Dispute) -> "DisputeOut":
        return cls(
            id=str(d.id), request_id=d.request_id, customer_id=d.customer_id,
            provider_user_id=d.provider_user_id, provider_id=d.provider_id, category=d.category,
            statement=d.statement, state=d.state, version=d.version, respond_by=d.respond_by,
            evidence_from=d.evidence_from, assigned_admin_id=d.assigned_admin_id, outcome=d.outcome,
            refund=d.refund, resolution_note=d.resolution_note, resolved_at=d.resolved_at,
            opened_at=d.opened_at, updated_at=d.updated_at, cursor=d.opened_key,
        )  # fmt: skip


class DisputePage(BaseModel):
    items: list[DisputeOut]
    next_cursor: str | None


class TimelineItem(BaseModel):
    at: datetime
    kind: Literal["step", "evidence"]
    actor_id: str | None
    actor_role: ActorRole
    event: str | None = Field(default=None, description="Steps: open, assign, request_info, resolve, ...")
    from_state: DisputeState | None = None
    to_state: DisputeState | None = None
    note: str | None = None
    party: str | None = None
    evidence: EvidenceOut | None = None


class Timeline(BaseModel):
    dispute: DisputeOut
    items: list[TimelineItem]


class RequestInfoIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"party": "provider", "question": "Do you have photos taken after the job?"}]
        }
    )

    party: Literal["customer", "provider"]
    question: Written = Field(min_length=5, max_length=2000)


class RefundIn(BaseModel):
    kind: RefundKind
    amount_minor: int | None = Field(
        default=None, ge=1, le=1_000_000_000, strict=True, description="Partial refunds (minor units)."
    )


class ResolveIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"outcome": "customer_favoured", "refund": {"kind": "full"}, "note": "The job was not done."},
                {
                    "outcome": "split",
                    "refund": {"kind": "partial", "amount_minor": 5000},
                    "note": "Both had a point.",
                },
            ]
        }
    )

    outcome: DisputeOutcome
    refund: RefundIn | None = Field(
        default=None,
        description="customer_favoured: full or partial; split: partial; provider_favoured: none.",
    )
    note: Written = Field(min_length=5, max_length=4000, description="Shown to both parties.")


def build_timeline(
    dispute: Dispute,
    evidence: list[DisputeEvidence],
    links: Callable[[DisputeEvidence], EvidenceLinks] | None = None,
) -> list[TimelineItem]:
    """The dispute's steps and its evidence, merged in time order (steps first at equal times); `links` gives
    each evidence item its storage links (admin views; parties' timelines have none)."""
    steps = [
        (s.at, 0, "", TimelineItem(
            at=s.at, kind="step", actor_id=s.actor_id, actor_role=s.actor_role, event=s.event,
            from_state=s.from_state, to_state=s.to_state, note=s.note, party=s.party,
        ))
        for s in dispute.history
    ]  # fmt: skip
    items = [
        (e.created_at, 1, e.seq_key, TimelineItem(
            at=e.created_at, kind="evidence", actor_id=e.author_id, actor_role=e.author_role,
            evidence=EvidenceOut.of(e, links(e) if links else None),
        ))
        for e in evidence
    ]  # fmt: skip
    return [item for *_, item in sorted(steps + items, key=lambda t: t[:3])]
