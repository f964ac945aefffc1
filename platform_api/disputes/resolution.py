"""The cross-domain workflow of a decision: the admin resolves the dispute → the refund decision (checked
against the booking's agreed price) → the booking closes through the booking state machine (`resolved`).
Each step is its owner's write (the dispute's compare-and-set here, the booking's transition in bookings);
`reconcile` (the `disputes.sweep` job) finishes whatever a crash between them left half done."""

from datetime import datetime

import stripe
from beanie import PydanticObjectId

from platform_api.bookings.service import Actor, TransitionLost, booking_service
from platform_api.disputes.errors import NoQuote
from platform_api.disputes.opening import ensure_for
from platform_api.disputes.state_machine import DisputeEvent
from platform_api.disputes.transitions import apply, event
from platform_api.errors import ValidationFailed
from platform_api.payments import settlement
from shared_models.documents import (
    Dispute,
    DisputeOutcome,
    DisputeState,
    Refund,
    RefundKind,
    Resolution,
    ServiceRequest,
    User,
)
from shared_models.enums import ActorRole, RequestEvent, RequestState


async def resolve(
    dispute: Dispute,
    admin: User,
    outcome: DisputeOutcome,
    refund: tuple[RefundKind, int | None] | None,
    note: str,
    now: datetime,
    stripe_client: stripe.StripeClient | None = None,
) -> Dispute:
    """Decide: the dispute is resolved, then the booking moves to its final state (`resolved`) through
    the booking state machine, and a card-paid booking's refund is executed on Stripe once
    (`payments.settlement`; with no `stripe_client`, or Stripe down, by the `payments.settle` job); both
    parties are notified."""
    request = await ServiceRequest.get(PydanticObjectId(dispute.request_id))
    assert request is not None
    decided = refund_for(outcome, refund, request)
    resolved = await apply(
        dispute,
        DisputeEvent.resolve,
        Actor.of(admin),
        now,
        {
            "outcome": outcome,
            "refund": decided,
            "resolution_note": note,
            "resolved_at": now,
            "respond_by": None,
            "remind_at": None,
            "evidence_from": None,
        },
        note=note,
        events=[event("dispute.resolved", dispute, now, outcome=outcome.value)],
    )
    closed = await close_booking(resolved, now)
    if closed is not None and closed.payment_required and stripe_client is not None:
        await settlement.settle_quietly(closed, stripe_client, now)
    return resolved


def refund_for(
    outcome: DisputeOutcome, refund: tuple[RefundKind, int | None] | None, request: ServiceRequest
) -> Refund | None:
    quote = request.quote
    if outcome is DisputeOutcome.provider_favoured:
        if refund is not None:
            raise ValidationFailed("A decision for the provider refunds nothing.", field="refund")
        return None
    if refund is None:
        raise ValidationFailed(f"A {outcome.value} decision needs a refund.", field="refund")
    kind, amount = refund
    if quote is None:
        raise NoQuote("The booking has no agreed price to refund from.", field="refund")
    if kind is RefundKind.full:
        if outcome is DisputeOutcome.split_costs:
            raise ValidationFailed("A split refunds part of the price.", field="refund.kind")
        if amount is not None and amount != quote.amount_minor:
            raise ValidationFailed("A full refund is the agreed price.", field="refund.amount_minor")
        return Refund(kind=kind, amount_minor=quote.amount_minor, currency=quote.currency)
    if amount is None or not 0 < amount < quote.amount_minor:
        raise ValidationFailed(
            f"A partial refund is more than 0 and less than {quote.amount_minor}.",
            field="refund.amount_minor",
        )
    return Refund(kind=kind, amount_minor=amount, currency=quote.currency)


async def close_booking(dispute: Dispute, now: datetime) -> ServiceRequest | None:
    """Move the booking to `resolved` with the decision; the booking as it is after (None: none)."""
    request = await ServiceRequest.get(PydanticObjectId(dispute.request_id))
    if request is None or dispute.outcome is None:
        return None
    if request.state is not RequestState.disputed:
        return request
    refund = dispute.refund
    resolution = Resolution(
        outcome=dispute.outcome.value,
        refund_minor=refund.amount_minor if refund else None,
        currency=refund.currency if refund else None,
    )
    decision = next(s for s in reversed(dispute.history) if s.event == DisputeEvent.resolve.value)
    admin = Actor(id=decision.actor_id, role=ActorRole.admin)
    try:
        return await booking_service.transition(
            request, RequestEvent.resolve, admin, now, reason=dispute.resolution_note,
            changes={"resolution": resolution},
        )  # fmt: skip
    except TransitionLost:  # lost to a concurrent reconcile run: the booking is final either way
        return await ServiceRequest.get(request.id)


async def reconcile(now: datetime) -> int:
    """Finish what a crash interrupted: a disputed booking without its dispute, or a resolved dispute
    whose booking has not reached its final state."""
    repaired = 0
    for request in await ServiceRequest.find({"state": RequestState.disputed.value}).to_list():
        dispute = await Dispute.get(request.id)
        if dispute is None and request.dispute_opening is not None:
            await ensure_for(request, now)
            repaired += 1
        elif dispute is not None and dispute.state is DisputeState.resolved:
            await close_booking(dispute, now)
            repaired += 1
    return repaired
