"""The admin's case handling before a decision: taking the dispute, and asking one party for more (which
gives that party `INFO_WINDOW` to answer)."""

from datetime import datetime

from platform_api.bookings.service import Actor
from platform_api.disputes.errors import DisputeResolved
from platform_api.disputes.state_machine import INFO_WINDOW, DisputeEvent
from platform_api.disputes.transitions import apply, event
from platform_api.errors import ValidationFailed
from shared_models.documents import Dispute, DisputeState, User
from shared_models.enums import ActorRole


async def assign(dispute: Dispute, admin: User, now: datetime) -> Dispute:
    if dispute.state is DisputeState.resolved:
        raise DisputeResolved("This dispute is already resolved.")
    return await apply(
        dispute, None, Actor.of(admin), now, {"assigned_admin_id": str(admin.id)}, event_name="assign"
    )


async def request_info(
    dispute: Dispute, admin: User, party: ActorRole, question: str, now: datetime
) -> Dispute:
    if party not in (ActorRole.customer, ActorRole.provider):
        raise ValidationFailed("Ask the customer or the provider.", field="party")
    recipient = dispute.customer_id if party is ActorRole.customer else dispute.provider_user_id
    due = now + INFO_WINDOW
    return await apply(
        dispute,
        DisputeEvent.request_info,
        Actor.of(admin),
        now,
        {"evidence_from": party.value, "respond_by": due, "remind_at": None},
        note=question,
        party=party.value,
        events=[
            event(
                "dispute.info_requested", dispute, now, recipient_id=recipient, due_at=due.isoformat(),
                question=question,
            )
        ],
    )  # fmt: skip
