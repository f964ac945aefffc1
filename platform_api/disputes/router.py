"""Dispute routes for the parties: open one on a completed job, read mine, add evidence, the timeline."""

from typing import Annotated

from fastapi import APIRouter, Query, status

from platform_api.bookings.errors import PERFORM_FAILURES
from platform_api.deps import READ_SESSION, WRITE_SESSION, ClockDep, CustomerSession, PartySession
from platform_api.disputes.errors import DisputeNotFound, EvidenceClosed, EvidenceInvalid
from platform_api.disputes.schemas import (
    DisputeOut,
    DisputePage,
    EvidenceIn,
    EvidenceOut,
    OpenDispute,
    Timeline,
    build_timeline,
)
from platform_api.disputes.service import dispute_service
from platform_api.errors import (
    RoleForbidden,
    ValidationFailed,
    errors,
)
from platform_api.idempotency import IDEMPOTENT, IdempotentRoute
from shared_models.documents import Dispute, User
from shared_models.ids import SORTABLE_KEY_PATTERN
from shared_models.services.media import NotAttachable

router = APIRouter(tags=["disputes"], route_class=IdempotentRoute)


async def _mine(dispute_id: str, user: User) -> Dispute:
    dispute = await dispute_service.get_for_party(dispute_id, user)
    if dispute is None:
        raise DisputeNotFound()
    return dispute


@router.post(
    "/requests/{request_id}/dispute",
    dependencies=[IDEMPOTENT],
    summary="Dispute a completed job (customers, within the 7-day confirmation window)",
    description="The request goes to `disputed`, which stops auto-confirmation. Not completed → 409 "
    "`invalid_transition`; after the window → 409 `deadline_passed`. The dispute has the request's id.",
    status_code=status.HTTP_201_CREATED,
    response_model=DisputeOut,
    responses=errors(
        *WRITE_SESSION,
        RoleForbidden,
        *PERFORM_FAILURES,
    ),
)
async def open_dispute(
    request_id: str, body: OpenDispute, session: CustomerSession, clock: ClockDep
) -> DisputeOut:
    dispute = await dispute_service.open(session.user, request_id, body.category, body.statement, clock.now())
    return DisputeOut.of(dispute)


@router.get(
    "/disputes",
    summary="My disputes (as customer or provider), newest first",
    response_model=DisputePage,
    responses=errors(*READ_SESSION, RoleForbidden),
)
async def list_disputes(
    session: PartySession,
    cursor: Annotated[str | None, Query(pattern=SORTABLE_KEY_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> DisputePage:
    items, next_cursor = await dispute_service.list_for_party(session.user, cursor, limit)
    return DisputePage(items=[DisputeOut.of(d) for d in items], next_cursor=next_cursor)


@router.get(
    "/disputes/{dispute_id}",
    summary="One of my disputes",
    response_model=DisputeOut,
    responses=errors(*READ_SESSION, RoleForbidden, DisputeNotFound),
)
async def get_dispute(dispute_id: str, session: PartySession) -> DisputeOut:
    return DisputeOut.of(await _mine(dispute_id, session.user))


@router.get(
    "/disputes/{dispute_id}/timeline",
    summary="Everything in a dispute, in order: its steps and every evidence item",
    response_model=Timeline,
    responses=errors(*READ_SESSION, RoleForbidden, DisputeNotFound),
)
async def dispute_timeline(dispute_id: str, session: PartySession) -> Timeline:
    dispute = await _mine(dispute_id, session.user)
    evidence = await dispute_service.evidence(dispute)
    return Timeline(dispute=DisputeOut.of(dispute), items=build_timeline(dispute, evidence))


@router.post(
    "/disputes/{dispute_id}/evidence",
    dependencies=[IDEMPOTENT],
    summary="Add evidence: a statement or a confirmed upload of yours (append-only)",
    description="Items can never be edited or deleted; to correct one, add a new item naming it in "
    "`corrects`. Accepted while the dispute takes evidence from you (`evidence_from`) and before "
    "`respond_by`; otherwise 409 `evidence_closed`.",
    status_code=status.HTTP_201_CREATED,
    response_model=EvidenceOut,
    responses=errors(
        *WRITE_SESSION,
        RoleForbidden,
        DisputeNotFound,
        EvidenceClosed,
        EvidenceInvalid,
        NotAttachable,
        ValidationFailed,
    ),
)
async def add_evidence(
    dispute_id: str, body: EvidenceIn, session: PartySession, clock: ClockDep
) -> EvidenceOut:
    item = await dispute_service.add_evidence(
        dispute_id, session.user, body.text, body.media_id, body.corrects, clock.now()
    )
    return EvidenceOut.of(item)
