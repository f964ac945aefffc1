"""The one writer of `Dispute`: every change is one compare-and-set (id + state + version) that also appends
its history step and records its domain events in the document (then moved to the outbox), like the booking
state machine. State changes are validated against the table in `state_machine`."""

import functools
from datetime import datetime
from typing import Any

from platform_api.bookings.service import Actor
from platform_api.disputes.state_machine import DisputeEvent, rule_for
from platform_api.errors import ConcurrentUpdate, InvalidTransition, NotDue
from platform_api.outbox.service import outbox_service
from shared_models import store
from shared_models.documents import Dispute, DisputeStep, DomainEvent
from shared_models.enums import ActorRole
from shared_models.store import replace_if

SYSTEM = Actor(id=None, role=ActorRole.system)


# The owner clears its own document once its events are in the outbox.
outbox_service.register(Dispute, "dispute", functools.partial(store.clear_pending_events, Dispute))


def party_role(dispute: Dispute, user_id: str) -> ActorRole | None:
    """The user's side in the dispute (customer or provider), None for anyone else."""
    if dispute.customer_id == user_id:
        return ActorRole.customer
    if dispute.provider_user_id == user_id:
        return ActorRole.provider
    return None


def event(
    kind: str, dispute: Dispute, now: datetime, event_id: str | None = None, **extra: Any
) -> DomainEvent:
    """A domain event about the dispute (its parties in the payload); `event_id` derived from what produced
    it makes a retried append add nothing."""
    payload = {
        "dispute_id": str(dispute.id),
        "request_id": dispute.request_id,
        "customer_id": dispute.customer_id,
        "provider_user_id": dispute.provider_user_id,
        "provider_id": dispute.provider_id,
        **extra,
    }
    if event_id is not None:  # derived from what produced it: a retried append adds nothing
        return DomainEvent(id=event_id, type=kind, occurred_at=now, payload=payload)
    return DomainEvent(type=kind, occurred_at=now, payload=payload)


async def apply(
    dispute: Dispute,
    event: DisputeEvent | None,
    actor: Actor,
    now: datetime,
    changes: dict[str, Any],
    *,
    note: str | None = None,
    party: str | None = None,
    event_name: str | None = None,
    events: list[DomainEvent] | None = None,
    guard_due: bool = False,
) -> Dispute:
    """Validate against the table (for state changes), then one compare-and-set on id + state + version."""
    target = dispute.state
    if event is not None:
        rule = rule_for(dispute.state, event)
        if rule is None or actor.role not in rule.actors:
            raise InvalidTransition(
                f"Cannot {event.value} a dispute that is {dispute.state.value}.",
                details={"state": dispute.state.value},
            )
        target = rule.target
    query: dict[str, Any] = {"_id": dispute.id, "state": dispute.state.value, "version": dispute.version}
    if guard_due:
        if dispute.respond_by is None or now < dispute.respond_by:
            raise NotDue("Not due yet.")
        query["respond_by"] = {"$lte": now}
    after = dispute.model_copy(deep=True, update=changes)
    after.state = target
    after.version = dispute.version + 1
    after.updated_at = now
    after.history.append(
        DisputeStep(
            from_state=dispute.state,
            to_state=target,
            event=event.value if event is not None else event_name or "update",
            actor_id=actor.id,
            actor_role=actor.role,
            at=now,
            note=note,
            party=party,
        )
    )
    if events:
        after.pending_events.extend(events)
        after.pending_since = dispute.pending_since or now
    raw = await replace_if(query, after)
    if raw is None:
        raise ConcurrentUpdate("The dispute changed meanwhile; reload it.")
    updated: Dispute = Dispute.model_validate(raw)
    if updated.pending_events:
        await outbox_service.publish_or_defer([updated], now)
    return updated


def iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None
