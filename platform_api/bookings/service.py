"""Booking requests: creation, party-scoped reads, and the one transition function every change goes through.

Every transition is a single compare-and-set (`find_one_and_update` on id + state + version) that sets the
new state, bumps the version, appends the history entry and records the domain event, all in one document
update. No multi-document transaction is used (the embedded engine's are not isolated).
"""

import asyncio
import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import stripe
import structlog
from beanie import PydanticObjectId

from platform_api.bookings import repository
from platform_api.bookings.errors import (
    CategoryNotOffered,
    DeadlinePassed,
    ProviderUnavailable,
    ReasonRequired,
    RequestNotFound,
    SubscriptionRequired,
    TransitionLost,
)
from platform_api.bookings.schemas import CreateRequest
from platform_api.bookings.state_machine import (
    DEADLINES_ON_ENTRY,
    REMINDERS,
    SYSTEM_RULES,
    TERMINAL_STATES,
    Rule,
    allowed_events,
    event_type,
    rule_for,
)
from platform_api.entitlements.guards import provider_accepts_requests
from platform_api.errors import Conflict, InvalidTransition, NotDue, ValidationFailed
from platform_api.outbox.service import outbox_service
from platform_api.payments import service as payments
from platform_api.payments import settlement
from platform_api.providers.errors import UnknownProvider
from platform_api.providers.service import provider_service
from shared_models import store
from shared_models.documents import (
    DomainEvent,
    Money,
    ServiceRequest,
    ServiceRequestSummary,
    TimeWindow,
    Transition,
    User,
)
from shared_models.enums import ActorRole, RequestEvent, RequestState
from shared_models.ids import parse_object_id, sortable_key

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Actor:
    id: str | None
    role: ActorRole

    @classmethod
    def of(cls, user: User) -> "Actor":
        return cls(id=str(user.id), role=ActorRole(user.role.value))


SYSTEM = Actor(id=None, role=ActorRole.system)


@dataclass(frozen=True)
class SweepResult:
    transitioned: int
    skipped: int


def _party_role(request: ServiceRequest | ServiceRequestSummary, actor: Actor) -> ActorRole | None:
    if actor.role is ActorRole.customer and request.customer_id == actor.id:
        return ActorRole.customer
    if actor.role is ActorRole.provider and request.provider_user_id == actor.id:
        return ActorRole.provider
    return None


def _reminder_time(request: ServiceRequest) -> datetime | None:
    """When the current state's reminder is due: its deadline minus the lead (None: no reminder here)."""
    if request.state not in REMINDERS:
        return None
    field, _ = DEADLINES_ON_ENTRY[request.state]
    deadline: datetime | None = getattr(request, field)
    return deadline - REMINDERS[request.state][1] if deadline else None


def _invalid(request: ServiceRequest, event: RequestEvent, role: ActorRole) -> InvalidTransition:
    allowed = allowed_events(request.state, role)
    listed = ", ".join(e.value for e in allowed) or "none"
    return InvalidTransition(
        f"Cannot {event.value} a request that is {request.state.value}; allowed now: {listed}.",
        details={"state": request.state.value, "allowed_events": [e.value for e in allowed]},
    )


# The owner clears its own document once its events are in the outbox.
outbox_service.register(
    ServiceRequest, "service_request", functools.partial(store.clear_pending_events, ServiceRequest)
)


class BookingService:
    async def create(self, customer: User, data: CreateRequest, now: datetime) -> ServiceRequest:
        profile = await provider_service.get(data.provider_id)
        if profile is None:
            raise UnknownProvider(field="provider_id")
        if data.category not in profile.categories:
            raise CategoryNotOffered(field="category")
        if data.window.start <= now:
            raise ValidationFailed("The requested window must start in the future.", field="window.start")
        if not await provider_accepts_requests(profile):
            raise ProviderUnavailable()
        # A provider that can take card payments is paid through the app: the price is known up front.
        card_paid = await payments.card_payments_for(str(profile.id))
        if card_paid:
            payments.check_price(data.quote)
        request_id = PydanticObjectId()
        actor = Actor.of(customer)
        creation = Transition(
            from_state=None,
            to_state=RequestState.requested,
            event="create",
            actor_id=actor.id,
            actor_role=actor.role,
            at=now,
        )
        request = ServiceRequest(
            id=request_id,
            customer_id=str(customer.id),
            provider_id=str(profile.id),
            provider_user_id=profile.owner_id,
            category=data.category,
            description=data.description,
            address=data.address,
            location=data.location,
            window=TimeWindow(start=data.window.start, end=data.window.end),
            quote=data.quote,
            payment_required=card_paid,
            state=RequestState.requested,
            version=1,
            history=[creation],
            created_at=now,
            updated_at=now,
            created_key=sortable_key(now, request_id),
        )
        field, delay = DEADLINES_ON_ENTRY[RequestState.requested]
        setattr(request, field, now + delay)
        request.remind_at = _reminder_time(request)
        request.pending_events = [self._event("request.created", request, creation, now)]
        request.pending_since = now
        await request.insert()
        log.info("booking.created", request_id=str(request_id), provider_id=request.provider_id)
        await outbox_service.publish_or_defer([request], now)
        return request

    async def get(self, request_id: str) -> ServiceRequest | None:
        """Any request, unscoped: for admin views only (parties read through `get_for_party`)."""
        oid = parse_object_id(request_id)
        return await ServiceRequest.get(oid) if oid else None

    async def get_for_party(self, request_id: str, actor: Actor) -> ServiceRequest | None:
        """The request if the actor is its customer or provider; None otherwise (so callers answer 404)."""
        oid = parse_object_id(request_id)
        request = await ServiceRequest.get(oid) if oid else None
        if request is None or _party_role(request, actor) is None:
            return None
        return request

    async def list_for_party(
        self, user: User, state: RequestState | None, cursor: str | None, limit: int
    ) -> tuple[list[ServiceRequestSummary], str | None]:
        items = await repository.my_page(user.role, str(user.id), state, cursor, limit + 1)
        next_cursor = items[limit - 1].created_key if len(items) > limit else None
        return items[:limit], next_cursor

    def allowed_for(
        self, request: ServiceRequest | ServiceRequestSummary, actor: Actor
    ) -> list[RequestEvent]:
        role = _party_role(request, actor)
        return allowed_events(request.state, role) if role else []

    async def perform(
        self,
        request_id: str,
        event: RequestEvent,
        actor: Actor,
        now: datetime,
        reason: str | None = None,
        quote: Money | None = None,
        changes: dict[str, Any] | None = None,
        stripe_client: stripe.StripeClient | None = None,
    ) -> ServiceRequest:
        """A party's event on a request (accept, decline, cancel, complete, confirm, dispute). A card-paid
        booking's money follows its new state (`payments.settlement`) when `stripe_client` is given; the
        `payments.settle` job does it otherwise, or if Stripe is down."""
        request = await self.get_for_party(request_id, actor)
        if request is None:
            raise RequestNotFound()
        if quote is not None and event is not RequestEvent.accept:
            raise ValidationFailed("Only accepting a request sets its quote.", field="quote")
        if event is RequestEvent.accept and actor.role is ActorRole.provider:
            profile = await provider_service.get(request.provider_id)
            if profile is None or not await provider_accepts_requests(profile):
                raise SubscriptionRequired()
            await payments.check_acceptable(request, quote)
        if quote is not None:
            changes = {**(changes or {}), "quote": quote}
        try:
            updated = await self.transition(request, event, actor, now, reason=reason, changes=changes)
        except TransitionLost:
            # Someone moved it first: answer from the state that won, as if we had arrived second.
            fresh = await ServiceRequest.get(request.id)
            assert fresh is not None
            raise _invalid(fresh, event, actor.role) from None
        if stripe_client is not None and updated.payment_required:
            await settlement.settle_quietly(updated, stripe_client, now)
        return updated

    async def transition(
        self,
        request: ServiceRequest,
        event: RequestEvent,
        actor: Actor,
        now: datetime,
        *,
        reason: str | None = None,
        changes: dict[str, Any] | None = None,
        publish: bool = True,
    ) -> ServiceRequest:
        """The only writer of ServiceRequest state: validate against the table, then one compare-and-set.

        `publish=False` leaves the event pending for the caller to publish in bulk (the sweep does).
        """
        # The scheduler and admins (through the disputes service) act on any request; parties on their own.
        role = (
            actor.role if actor.role in (ActorRole.system, ActorRole.admin) else _party_role(request, actor)
        )
        rule = rule_for(request.state, event)
        if role is None or rule is None or role not in rule.actors:
            raise _invalid(request, event, role or actor.role)
        if rule.reason_required and not (reason and reason.strip()):
            raise ReasonRequired(f"A reason is required to {event.value} now.", field="reason")
        query: dict[str, Any] = {"_id": request.id, "state": request.state.value, "version": request.version}
        self._check_deadline(request, rule, now, query)

        entry = Transition(
            from_state=request.state,
            to_state=rule.target,
            event=event.value,
            actor_id=actor.id,
            actor_role=role,
            at=now,
            reason=reason,
        )
        after = request.model_copy(deep=True)
        after.state = rule.target
        after.version = request.version + 1
        after.updated_at = now
        after.history.append(entry)
        after.pending_events.append(self._event(event_type(rule), request, entry, now))
        after.pending_since = request.pending_since or now
        for name, value in (changes or {}).items():
            setattr(after, name, value)
        if rule.target in DEADLINES_ON_ENTRY:
            field, delay = DEADLINES_ON_ENTRY[rule.target]
            setattr(after, field, now + delay)
        after.remind_at = _reminder_time(after)
        # The compare-and-set replaces the whole document, guarded by id + state + version (+ deadline):
        # atomic on MongoDB and the engine alike. Not $set/$push: the engine stores a $push-ed subdocument
        # and a $set top-level datetime as strings (see README, "Engine notes").
        raw = await store.replace_if(query, after)
        if raw is None:
            raise TransitionLost("The request changed meanwhile; reload it.")
        updated: ServiceRequest = ServiceRequest.model_validate(raw)
        # Sweeps make thousands of these: the scheduler logs one summary line instead.
        (log.debug if role is ActorRole.system else log.info)(
            "booking.transition",
            request_id=str(request.id),
            transition_event=event.value,
            to=rule.target.value,
            actor_role=role.value,
            version=updated.version,
        )
        if publish:
            await outbox_service.publish_or_defer([updated], now)
        return updated

    def _check_deadline(
        self, request: ServiceRequest, rule: Rule, now: datetime, query: dict[str, Any]
    ) -> None:
        # The deadline is also part of the compare-and-set filter, so an accept and the expiry racing at the
        # 48 h boundary can never both match: exactly one of them wins.
        if rule.before is not None:
            due: datetime | None = getattr(request, rule.before)
            if due is not None and now >= due:
                raise DeadlinePassed(
                    f"Too late to {rule.event.value}: the deadline was {due.isoformat()}.",
                    details={"state": request.state.value, "deadline": due.isoformat()},
                )
            query[rule.before] = {"$gt": now}
        if rule.after is not None:
            due = getattr(request, rule.after)
            if due is None or now < due:
                raise NotDue(f"Not due until {due}.")
            query[rule.after] = {"$lte": now}

    def _event(self, type_: str, request: ServiceRequest, entry: Transition, now: datetime) -> DomainEvent:
        return DomainEvent(
            type=type_,
            occurred_at=now,
            payload={
                "request_id": str(request.id),
                "customer_id": request.customer_id,
                "provider_id": request.provider_id,
                "provider_user_id": request.provider_user_id,
                "from_state": entry.from_state.value if entry.from_state else None,
                "to_state": entry.to_state.value,
                "event": entry.event,
                "actor_id": entry.actor_id,
                "actor_role": entry.actor_role.value,
                "reason": entry.reason,
            },
        )

    async def sweep_due(self, now: datetime, batch_size: int = 200, concurrency: int = 16) -> SweepResult:
        """Apply every system transition that is due (expiry at 48 h, auto-confirm at 7 days), in batches.

        Stateless, so it catches up after any downtime; safe to run concurrently with itself, since each
        transition is a compare-and-set and a lost one is simply skipped.
        """
        transitioned = skipped = 0
        limit = asyncio.Semaphore(concurrency)

        async def apply(request: ServiceRequest, event: RequestEvent) -> ServiceRequest | None:
            async with limit:
                try:
                    return await self.transition(request, event, SYSTEM, now, publish=False)
                except Conflict:  # lost the race to another sweeper or a party, or no longer due
                    return None

        for rule in SYSTEM_RULES:
            assert rule.after is not None
            seen: set[PydanticObjectId] = set()
            while True:
                batch = [
                    r
                    for r in await repository.due(rule.source, rule.after, now, batch_size).to_list()
                    if r.id not in seen
                ]
                if not batch:
                    break
                seen.update(r.id for r in batch if r.id is not None)
                outcomes = await asyncio.gather(*(apply(r, rule.event) for r in batch))
                done = [r for r in outcomes if r is not None]
                await outbox_service.publish_or_defer(done, now)
                transitioned += len(done)
                skipped += len(outcomes) - len(done)
        reminded = await self.remind_due(now, batch_size)
        if transitioned or reminded:
            log.info("booking.sweep", transitioned=transitioned, skipped=skipped, reminded=reminded)
        return SweepResult(transitioned, skipped)

    async def remind_due(self, now: datetime, batch_size: int = 200) -> int:
        """Send every due reminder once: each is a compare-and-set (id + state + version) that clears
        `remind_at` and records the reminder event, like a transition but with no change of state."""
        sent = 0
        for state, (kind, _) in REMINDERS.items():
            while True:
                batch = await repository.due(state, "remind_at", now, batch_size).to_list()
                done = [r for r in await asyncio.gather(*(self._remind(r, kind, now) for r in batch)) if r]
                await outbox_service.publish_or_defer(done, now)
                sent += len(done)
                if len(batch) < batch_size or not done:
                    break
        return sent

    async def _remind(self, request: ServiceRequest, kind: str, now: datetime) -> ServiceRequest | None:
        field, _ = DEADLINES_ON_ENTRY[request.state]
        after = request.model_copy(deep=True)
        after.remind_at = None
        after.version = request.version + 1
        after.updated_at = now
        event = self._event(kind, request, request.history[-1], now)
        event.payload["due_at"] = getattr(request, field).isoformat()
        after.pending_events.append(event)
        after.pending_since = request.pending_since or now
        raw = await store.replace_if(
            {"_id": request.id, "state": request.state.value, "version": request.version}, after
        )
        return ServiceRequest.model_validate(raw) if raw is not None else None  # None: lost to a transition


booking_service = BookingService()

__all__ = [
    "SYSTEM",
    "TERMINAL_STATES",
    "Actor",
    "BookingService",
    "InvalidTransition",
    "TransitionLost",
    "booking_service",
]
