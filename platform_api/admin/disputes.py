"""The admin console's disputes: list, view with the full timeline, assign, ask for information, resolve.
Every action is written to the audit log."""

import asyncio
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from platform_api.admin.errors import BookingNotFound
from platform_api.audit.service import audit_service
from platform_api.auth.service import auth_service
from platform_api.bookings.errors import TRANSITION_FAILURES
from platform_api.bookings.service import booking_service
from platform_api.deps import READ_SESSION, WRITE_SESSION, AdminSession, ClockDep, StripeDep
from platform_api.disputes.errors import DisputeNotFound, DisputeResolved, NoQuote
from platform_api.disputes.schemas import (
    DisputeOut,
    DisputePage,
    EvidenceLinks,
    RequestInfoIn,
    ResolveIn,
    Timeline,
    build_timeline,
)
from platform_api.disputes.service import dispute_service
from platform_api.errors import (
    ConcurrentUpdate,
    InvalidTransition,
    NotDue,
    RoleForbidden,
    ValidationFailed,
    errors,
)
from platform_api.media.router import MediaDep
from platform_api.payments import service as payments
from platform_api.payments.schemas import PaymentOut
from platform_api.providers.service import provider_service
from shared_models.clock import ClientMoment
from shared_models.documents import (
    Dispute,
    DisputeCategory,
    DisputeEvidence,
    DisputeState,
    Money,
    ProviderProfile,
    ServiceRequest,
    User,
)
from shared_models.enums import ActorRole, RequestState, ServiceCategory
from shared_models.ids import SORTABLE_KEY_PATTERN

router = APIRouter(prefix="/admin/disputes", tags=["admin"])


class DisputeSort(StrEnum):
    newest = "newest"
    oldest = "oldest"


class BookingCustomer(BaseModel):
    id: str
    display_name: str
    email: str


class BookingProvider(BaseModel):
    id: str = Field(description="The provider profile (GET /admin/providers/{id}).")
    business_name: str
    owner_id: str = Field(description="The provider's user account.")


class DisputedBooking(BaseModel):
    id: str
    state: RequestState
    category: ServiceCategory
    description: str
    agreed_price: Money | None = Field(
        description="The booking's quote: a full refund is this amount, a partial one strictly between 0 "
        "and it. Null when none was agreed (then no refund can be decided)."
    )
    customer: BookingCustomer
    provider: BookingProvider

    @classmethod
    def of(cls, request: ServiceRequest, customer: User, provider: ProviderProfile) -> "DisputedBooking":
        return cls(
            id=str(request.id), state=request.state, category=request.category,
            description=request.description, agreed_price=request.quote,
            customer=BookingCustomer(
                id=str(customer.id), display_name=customer.display_name, email=customer.email
            ),
            provider=BookingProvider(
                id=str(provider.id), business_name=provider.business_name, owner_id=provider.owner_id
            ),
        )  # fmt: skip


class AdminDisputeView(Timeline):
    """The timeline, the booking beside it, and what was paid for it (null: not paid by card in the app)."""

    booking: DisputedBooking
    payment: PaymentOut | None = Field(
        description="What the customer paid: amount, the platform fee, what was captured and refunded."
    )


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
        raise DisputeNotFound()
    return dispute


DisputeDep = Annotated[Dispute, Depends(dispute_by_id)]


@router.get(
    "",
    summary="Disputes, filtered by state, category and age, sorted by age",
    response_model=DisputePage,
    responses=errors(*READ_SESSION, RoleForbidden),
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
    summary="One dispute with its full timeline, its booking, and short-lived links to its evidence",
    description="Each evidence file has a `download_url` (attachment) and, for images and PDFs, a `view_url` "
    "(inline, to show in the page). `booking.agreed_price` is what a refund is measured against: a full "
    "refund is the price, a partial one strictly between 0 and it.",
    response_model=AdminDisputeView,
    responses=errors(*READ_SESSION, RoleForbidden, DisputeNotFound, BookingNotFound),
)
async def get_dispute(dispute: DisputeDep, media: MediaDep) -> AdminDisputeView:
    evidence, request, customer, provider = await asyncio.gather(
        dispute_service.evidence(dispute),
        booking_service.get(dispute.request_id),
        auth_service.get_user(dispute.customer_id),
        provider_service.get(dispute.provider_id),
    )
    payment = await payments.view(request) if request is not None else None
    # Bookings, accounts and profiles are kept (anonymised) when an account is deleted: missing is a bug.
    if request is None or customer is None or provider is None:
        raise BookingNotFound()

    def links(item: DisputeEvidence) -> EvidenceLinks:
        if item.media_key is None:
            return EvidenceLinks()
        name = item.filename or "file"
        return EvidenceLinks(
            download_url=media.storage.presigned_get(item.media_key, name),
            view_url=media.view_link(item.media_key, name, item.content_type),
        )

    return AdminDisputeView(
        dispute=DisputeOut.of(dispute),
        items=build_timeline(dispute, evidence, links),
        booking=DisputedBooking.of(request, customer, provider),
        payment=PaymentOut.of(payment) if payment is not None else None,
    )


@router.post(
    "/{dispute_id}/assign",
    summary="Assign the dispute to yourself",
    response_model=DisputeOut,
    responses=errors(
        *WRITE_SESSION,
        RoleForbidden,
        DisputeNotFound,
        DisputeResolved,
        InvalidTransition,
        NotDue,
        ConcurrentUpdate,
    ),
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
    responses=errors(
        *WRITE_SESSION,
        RoleForbidden,
        DisputeNotFound,
        InvalidTransition,
        NotDue,
        ConcurrentUpdate,
        ValidationFailed,
    ),
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
    "`customer_favoured` full or partial, `split` partial, `provider_favoured` none. For a booking paid by "
    "card the refund is made on Stripe once (reversing the provider's transfer and the platform fee in "
    "proportion); it shows in `payment.amount_refunded` when Stripe's webhook confirms it.",
    response_model=DisputeOut,
    responses=errors(
        *WRITE_SESSION,
        RoleForbidden,
        DisputeNotFound,
        *TRANSITION_FAILURES,
        NoQuote,
        ConcurrentUpdate,
        ValidationFailed,
    ),
)
async def resolve_dispute(
    dispute: DisputeDep, body: ResolveIn, session: AdminSession, clock: ClockDep, client: StripeDep
) -> DisputeOut:
    now = clock.now()
    refund = (body.refund.kind, body.refund.amount_minor) if body.refund else None
    after = await dispute_service.resolve(
        dispute, session.user, body.outcome, refund, body.note, now, stripe_client=client
    )
    await audit_service.record(
        session.user_id, "dispute.resolve", "dispute", str(dispute.id), snapshot(dispute),
        {**snapshot(after), "note": body.note}, now,
    )  # fmt: skip
    return DisputeOut.of(after)
