"""The admin console's disputes: list, view with the full timeline, assign, ask for information, resolve.
Every action is written to the audit log."""

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from platform_api.audit.service import audit_service
from platform_api.deps import AdminSession, ClockDep
from platform_api.disputes.schemas import (
    DisputeOut,
    DisputePage,
    RequestInfoIn,
    ResolveIn,
    Timeline,
    build_timeline,
)
from platform_api.disputes.service import dispute_service
from platform_api.errors import Conflict, Forbidden, NotFound, Unauthorized, Unprocessable, error_responses
from platform_api.media.router import MediaDep
from shared_models.clock import ClientMoment
from shared_models.documents import Dispute, DisputeCategory, DisputeEvidence, DisputeState
from shared_models.enums import ActorRole
from shared_models.ids import SORTABLE_KEY_PATTERN

router = APIRouter(prefix="/admin/disputes", tags=["admin"])


class DisputeSort(StrEnum):
    newest = "newest"
    oldest = "oldest"


def snapshot(dispute: Dispute) -> dict[str, Any]:
    """What the audit log keeps of a dispute before and after an action."""
    return {
        "state": dispute.state.value,
        "version": dispute.version,
        "assigned_admin_id": dispute.assigned_admin_id,
        "evidence_from": dispute.evidence_from,
        "respond_by": dispute.respond_by.isoformat() if dispute.respond_by else None,
        "outcome": dispute.outcome.value if dispute.outcome else None,
        "refund": dispute.refund.model_dump(mode="json") if dispute.refund else None,
    }


async def dispute_by_id(dispute_id: str, session: AdminSession) -> Dispute:
    dispute = await dispute_service.get(dispute_id)
    if dispute is None:
        raise NotFound("No such dispute.", code="dispute_not_found")
    return dispute


DisputeDep = Annotated[Dispute, Depends(dispute_by_id)]


@router.get(
    "",
    summary="Disputes, filtered by state, category and age, sorted by age",
    response_model=DisputePage,
    responses=error_responses(Unauthorized, Forbidden, Unprocessable),
)
async def list_disputes(
    session: AdminSession,
    state: DisputeState | None = None,
    category: DisputeCategory | None = None,
    opened_before: Annotated[
        ClientMoment | None, Query(description="Only disputes at least this old.")
    ] = None,
    sort: DisputeSort = DisputeSort.newest,
    cursor: Annotated[str | None, Query(pattern=SORTABLE_KEY_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> DisputePage:
    items, next_cursor = await dispute_service.list_for_admin(
        state, category, opened_before, sort is DisputeSort.oldest, cursor, limit
    )
    return DisputePage(items=[DisputeOut.of(d) for d in items], next_cursor=next_cursor)


@router.get(
    "/{dispute_id}",
    summary="One dispute with its full timeline and short-lived download links for its evidence",
    response_model=Timeline,
    responses=error_responses(Unauthorized, Forbidden, NotFound),
)
async def get_dispute(dispute: DisputeDep, media: MediaDep) -> Timeline:
    evidence = await dispute_service.evidence(dispute)

    def link(item: DisputeEvidence) -> str | None:
        return (
            media.storage.presigned_get(item.media_key, item.filename or "file") if item.media_key else None
        )

    return Timeline(dispute=DisputeOut.of(dispute), items=build_timeline(dispute, evidence, link))


@router.post(
    "/{dispute_id}/assign",
    summary="Assign the dispute to yourself",
    response_model=DisputeOut,
    responses=error_responses(Unauthorized, Forbidden, NotFound, Conflict),
)
async def assign_dispute(dispute: DisputeDep, session: AdminSession, clock: ClockDep) -> DisputeOut:
    now = clock.now()
    after = await dispute_service.assign(dispute, session.user, now)
    await audit_service.record(
        session.user_id, "dispute.assign", "dispute", str(dispute.id), snapshot(dispute), snapshot(after), now
    )
    return DisputeOut.of(after)


@router.post(
    "/{dispute_id}/request-info",
    summary="Ask one party for more information (they get 72 hours to add evidence)",
    response_model=DisputeOut,
    responses=error_responses(Unauthorized, Forbidden, NotFound, Conflict, Unprocessable),
)
async def request_info(
    dispute: DisputeDep, body: RequestInfoIn, session: AdminSession, clock: ClockDep
) -> DisputeOut:
    now = clock.now()
    after = await dispute_service.request_info(
        dispute, session.user, ActorRole(body.party), body.question, now
    )
    await audit_service.record(
        session.user_id, "dispute.request_info", "dispute", str(dispute.id), snapshot(dispute),
        {**snapshot(after), "question": body.question}, now,
    )  # fmt: skip
    return DisputeOut.of(after)


@router.post(
    "/{dispute_id}/resolve",
    summary="Decide the dispute: outcome, refund and a note; the booking reaches its final state",
    description="Both parties are notified. Refunds are relative to the booking's agreed price: "
    "`customer_favoured` full or partial, `split` partial, `provider_favoured` none.",
    response_model=DisputeOut,
    responses=error_responses(Unauthorized, Forbidden, NotFound, Conflict, Unprocessable),
)
async def resolve_dispute(
    dispute: DisputeDep, body: ResolveIn, session: AdminSession, clock: ClockDep
) -> DisputeOut:
    now = clock.now()
    refund = (body.refund.kind, body.refund.amount_minor) if body.refund else None
    after = await dispute_service.resolve(dispute, session.user, body.outcome, refund, body.note, now)
    await audit_service.record(
        session.user_id, "dispute.resolve", "dispute", str(dispute.id), snapshot(dispute),
        {**snapshot(after), "note": body.note}, now,
    )  # fmt: skip
    return DisputeOut.of(after)
