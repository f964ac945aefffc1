"""Opening a dispute: the customer disputes a completed booking (through the booking state machine, which
records the opening on the request), then the dispute is created from what the request recorded. A dispute
has the id of its booking, so creating it is idempotent."""

from datetime import datetime

import structlog
from pymongo.errors import DuplicateKeyError

from platform_api.bookings.service import Actor, booking_service
from platform_api.disputes.state_machine import REMINDER_LEAD, RESPONSE_WINDOW, DisputeEvent
from shared_models.documents import (
    Dispute,
    DisputeCategory,
    DisputeOpening,
    DisputeState,
    DisputeStep,
    ServiceRequest,
    User,
)
from shared_models.enums import ActorRole, RequestEvent, RequestState
from shared_models.ids import sortable_key

log = structlog.get_logger(__name__)


async def open(
    customer: User, request_id: str, category: DisputeCategory, statement: str, now: datetime
) -> Dispute:
    """The customer disputes a completed job within the confirmation window (then auto-confirm stops)."""
    opening = DisputeOpening(category=category.value, statement=statement)
    request = await booking_service.perform(
        request_id,
        RequestEvent.dispute,
        Actor.of(customer),
        now,
        reason=statement,
        changes={"dispute_opening": opening},
    )
    return await ensure_for(request, now)


async def ensure_for(request: ServiceRequest, now: datetime) -> Dispute:
    """The dispute of a disputed request, created from what the request recorded (idempotent)."""
    assert request.id is not None
    assert request.dispute_opening is not None
    existing = await Dispute.get(request.id)
    if existing is not None:
        return existing
    opened_at = request.history[-1].at if request.state is RequestState.disputed else now
    dispute = Dispute(
        id=request.id,
        request_id=str(request.id),
        customer_id=request.customer_id,
        provider_user_id=request.provider_user_id,
        provider_id=request.provider_id,
        category=DisputeCategory(request.dispute_opening.category),
        statement=request.dispute_opening.statement,
        state=DisputeState.open,
        version=1,
        history=[
            DisputeStep(
                from_state=None,
                to_state=DisputeState.open,
                event=DisputeEvent.open.value,
                actor_id=request.customer_id,
                actor_role=ActorRole.customer,
                at=opened_at,
                note=request.dispute_opening.statement,
            )
        ],
        respond_by=opened_at + RESPONSE_WINDOW,
        remind_at=opened_at + RESPONSE_WINDOW - REMINDER_LEAD,
        evidence_from="both",
        opened_at=opened_at,
        updated_at=now,
        opened_key=sortable_key(opened_at, request.id),
    )
    try:
        await dispute.insert()
    except DuplicateKeyError:
        winner = await Dispute.get(request.id)
        assert winner is not None
        return winner
    log.info("dispute.opened", dispute_id=str(dispute.id), category=dispute.category.value)
    return dispute
