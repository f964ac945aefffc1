"""Disputes: opening one on a completed booking, append-only evidence, the response deadline, and the
admin's decision. The only writer of `Dispute` and `DisputeEvidence`.

Every change of a dispute is one compare-and-set (id + state + version) that also appends its history
step and records its domain event, like the booking state machine. A dispute has the id of its booking,
so creating it is idempotent, and `reconcile` (run by the scheduler) finishes whatever a crash between the
booking's transition and the dispute's write left half done.
"""

import asyncio
import contextlib
from datetime import datetime
from typing import Any

import structlog
from beanie import PydanticObjectId
from pymongo.errors import DuplicateKeyError

from platform_api.bookings.service import Actor, TransitionLost, booking_service
from platform_api.disputes.state_machine import (
    DUE_RULES,
    INFO_WINDOW,
    REMINDER_LEAD,
    RESPONSE_WINDOW,
    DisputeEvent,
    rule_for,
)
from platform_api.errors import Conflict, NotFound, Unprocessable
from platform_api.outbox.service import outbox_service
from shared_models.cas import replace_if
from shared_models.documents import (
    Dispute,
    DisputeCategory,
    DisputeEvidence,
    DisputeOpening,
    DisputeOutcome,
    DisputeState,
    DisputeStep,
    DomainEvent,
    EvidenceKind,
    Refund,
    RefundKind,
    Resolution,
    ServiceRequest,
    User,
)
from shared_models.enums import ActorRole, RequestEvent, RequestState, Role
from shared_models.ids import parse_object_id, sortable_key, time_key
from shared_models.services.media import NotAttachable, attachable, grant

log = structlog.get_logger(__name__)
SYSTEM = Actor(id=None, role=ActorRole.system)


class EvidenceClosed(Conflict):
    default_code = "evidence_closed"


class DisputeChanged(Conflict):
    default_code = "concurrent_update"


def party_role(dispute: Dispute, user_id: str) -> ActorRole | None:
    if dispute.customer_id == user_id:
        return ActorRole.customer
    if dispute.provider_user_id == user_id:
        return ActorRole.provider
    return None


def _event(
    kind: str, dispute: Dispute, now: datetime, event_id: str | None = None, **extra: Any
) -> DomainEvent:
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


class DisputeService:
    # --- opening ---------------------------------------------------------------------------------------

    async def open(
        self, customer: User, request_id: str, category: DisputeCategory, statement: str, now: datetime
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
        return await self.ensure_for(request, now)

    async def ensure_for(self, request: ServiceRequest, now: datetime) -> Dispute:
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

    # --- reads -----------------------------------------------------------------------------------------

    async def get(self, dispute_id: str) -> Dispute | None:
        oid = parse_object_id(dispute_id)
        return await Dispute.get(oid) if oid else None

    async def get_for_party(self, dispute_id: str, user: User) -> Dispute | None:
        """The dispute if the user is one of its parties; None (→ 404) for anyone else."""
        dispute = await self.get(dispute_id)
        if dispute is None or party_role(dispute, str(user.id)) is None:
            return None
        return dispute

    async def list_for_party(
        self, user: User, cursor: str | None, limit: int
    ) -> tuple[list[Dispute], str | None]:
        field = "customer_id" if user.role is Role.customer else "provider_user_id"
        query: dict[str, Any] = {field: str(user.id)}
        if cursor is not None:
            query["opened_key"] = {"$lt": cursor}
        found = await Dispute.find(query).sort("-opened_key").limit(limit + 1).to_list()
        return found[:limit], found[limit - 1].opened_key if len(found) > limit else None

    async def list_for_admin(
        self,
        state: DisputeState | None,
        category: DisputeCategory | None,
        opened_before: datetime | None,
        oldest_first: bool,
        cursor: str | None,
        limit: int,
    ) -> tuple[list[Dispute], str | None]:
        """Filtered by state or category (one equality, each with its own index on opened_key), by age
        (opened before a time), sorted by age either way, paged by a cursor."""
        query: dict[str, Any] = {}
        if state is not None:
            query["state"] = state.value
        if category is not None:
            query["category"] = category.value
        bounds: dict[str, str] = {}
        if opened_before is not None:
            bounds["$lt"] = time_key(opened_before)
        if cursor is not None and oldest_first:
            bounds["$gt"] = cursor
        elif cursor is not None:
            bounds["$lt"] = min(cursor, bounds.get("$lt", cursor))
        if bounds:
            query["opened_key"] = bounds
        found = (
            await Dispute.find(query)
            .sort("opened_key" if oldest_first else "-opened_key")
            .limit(limit + 1)
            .to_list()
        )
        return found[:limit], found[limit - 1].opened_key if len(found) > limit else None

    async def evidence(self, dispute: Dispute) -> list[DisputeEvidence]:
        return await DisputeEvidence.find({"dispute_id": str(dispute.id)}).sort("seq_key").to_list()

    # --- evidence --------------------------------------------------------------------------------------

    async def add_evidence(
        self,
        dispute_id: str,
        user: User,
        text: str | None,
        media_id: str | None,
        corrects: str | None,
        now: datetime,
    ) -> DisputeEvidence:
        """Append one item (a statement or a confirmed upload of the author's). Items are never changed."""
        dispute = await self.get_for_party(dispute_id, user)
        if dispute is None:
            raise NotFound("No such dispute.", code="dispute_not_found")
        role = party_role(dispute, str(user.id))
        assert role is not None
        if not self._accepts_from(dispute, role, now):
            raise EvidenceClosed(
                "Evidence is closed for you in this dispute.",
                details={"state": dispute.state.value, "respond_by": _iso(dispute.respond_by)},
            )
        if (text is None) == (media_id is None):
            raise Unprocessable("Give either text or media_id.", code="evidence_invalid", field="text")
        if corrects is not None:
            original = await DisputeEvidence.get(parse_object_id(corrects) or PydanticObjectId())
            if (
                original is None
                or original.dispute_id != str(dispute.id)
                or original.author_id != str(user.id)
            ):
                raise Unprocessable(
                    "corrects must name an earlier item of yours in this dispute.", field="corrects"
                )
        oid = PydanticObjectId()
        item = DisputeEvidence(
            id=oid,
            dispute_id=str(dispute.id),
            author_id=str(user.id),
            author_role=role,
            kind=EvidenceKind.statement if text is not None else EvidenceKind.media,
            text=text,
            corrects=corrects,
            created_at=now,
            seq_key=sortable_key(now, oid),
        )
        if media_id is not None:
            try:
                (media,) = await attachable(str(user.id), [media_id])
            except NotAttachable as exc:
                raise Unprocessable(exc.message, code=exc.code, field="media_id") from None
            item.media_id, item.media_key, item.filename = str(media.id), media.key, media.filename
            item.content_type, item.size, item.sha256 = media.content_type, media.size, media.sha256
            other = dispute.provider_user_id if role is ActorRole.customer else dispute.customer_id
            await grant([media], other, f"dispute:{dispute.id}", now)
        await item.insert()
        event = _event(
            "dispute.evidence_added", dispute, now, event_id=f"dispute-evidence:{oid}", added_by=str(user.id)
        )
        await outbox_service.append([("dispute", str(dispute.id), event)], now)
        log.info("dispute.evidence_added", dispute_id=str(dispute.id), kind=item.kind.value, role=role.value)
        return item

    def _accepts_from(self, dispute: Dispute, role: ActorRole, now: datetime) -> bool:
        if dispute.state not in (DisputeState.open, DisputeState.awaiting_info):
            return False
        if dispute.respond_by is None or now >= dispute.respond_by:
            return False
        return dispute.evidence_from in ("both", role.value)

    # --- admin decisions -------------------------------------------------------------------------------

    async def assign(self, dispute: Dispute, admin: User, now: datetime) -> Dispute:
        if dispute.state is DisputeState.resolved:
            raise Conflict("This dispute is already resolved.", code="dispute_resolved")
        return await self._apply(
            dispute, None, Actor.of(admin), now, {"assigned_admin_id": str(admin.id)}, event_name="assign"
        )

    async def request_info(
        self, dispute: Dispute, admin: User, party: ActorRole, question: str, now: datetime
    ) -> Dispute:
        if party not in (ActorRole.customer, ActorRole.provider):
            raise Unprocessable("Ask the customer or the provider.", field="party")
        recipient = dispute.customer_id if party is ActorRole.customer else dispute.provider_user_id
        due = now + INFO_WINDOW
        return await self._apply(
            dispute,
            DisputeEvent.request_info,
            Actor.of(admin),
            now,
            {"evidence_from": party.value, "respond_by": due, "remind_at": None},
            note=question,
            party=party.value,
            events=[
                _event(
                    "dispute.info_requested", dispute, now, recipient_id=recipient, due_at=due.isoformat(),
                    question=question,
                )
            ],
        )  # fmt: skip

    async def resolve(
        self,
        dispute: Dispute,
        admin: User,
        outcome: DisputeOutcome,
        refund: tuple[RefundKind, int | None] | None,
        note: str,
        now: datetime,
    ) -> Dispute:
        """Decide: the dispute is resolved, then the booking moves to its final state (`resolved`) through
        the booking state machine; both parties are notified."""
        request = await ServiceRequest.get(PydanticObjectId(dispute.request_id))
        assert request is not None
        decided = self._refund(outcome, refund, request)
        resolved = await self._apply(
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
            events=[_event("dispute.resolved", dispute, now, outcome=outcome.value)],
        )
        await self._close_booking(resolved, now)
        return resolved

    def _refund(
        self, outcome: DisputeOutcome, refund: tuple[RefundKind, int | None] | None, request: ServiceRequest
    ) -> Refund | None:
        quote = request.quote
        if outcome is DisputeOutcome.provider_favoured:
            if refund is not None:
                raise Unprocessable("A decision for the provider refunds nothing.", field="refund")
            return None
        if refund is None:
            raise Unprocessable(f"A {outcome.value} decision needs a refund.", field="refund")
        kind, amount = refund
        if quote is None:
            raise Unprocessable(
                "The booking has no agreed price to refund from.", code="no_quote", field="refund"
            )
        if kind is RefundKind.full:
            if outcome is DisputeOutcome.split_costs:
                raise Unprocessable("A split refunds part of the price.", field="refund.kind")
            if amount is not None and amount != quote.amount_minor:
                raise Unprocessable("A full refund is the agreed price.", field="refund.amount_minor")
            return Refund(kind=kind, amount_minor=quote.amount_minor, currency=quote.currency)
        if amount is None or not 0 < amount < quote.amount_minor:
            raise Unprocessable(
                f"A partial refund is more than 0 and less than {quote.amount_minor}.",
                field="refund.amount_minor",
            )
        return Refund(kind=kind, amount_minor=amount, currency=quote.currency)

    async def _close_booking(self, dispute: Dispute, now: datetime) -> None:
        request = await ServiceRequest.get(PydanticObjectId(dispute.request_id))
        if request is None or request.state is not RequestState.disputed or dispute.outcome is None:
            return
        refund = dispute.refund
        resolution = Resolution(
            outcome=dispute.outcome.value,
            refund_minor=refund.amount_minor if refund else None,
            currency=refund.currency if refund else None,
        )
        decision = next(s for s in reversed(dispute.history) if s.event == DisputeEvent.resolve.value)
        admin = Actor(id=decision.actor_id, role=ActorRole.admin)
        # Lost to a concurrent reconcile run: the booking is final either way.
        with contextlib.suppress(TransitionLost):
            await booking_service.transition(
                request, RequestEvent.resolve, admin, now, reason=dispute.resolution_note,
                changes={"resolution": resolution},
            )  # fmt: skip

    # --- the scheduler's work --------------------------------------------------------------------------

    async def sweep_due(self, now: datetime, batch_size: int = 200) -> int:
        """Close evidence at each due deadline and send due reminders, each exactly once (compare-and-set);
        then reconcile. Safe to run concurrently with itself and after any downtime."""
        moved = 0
        for rule in DUE_RULES:
            while True:
                due = (
                    await Dispute.find({"state": rule.source.value, "respond_by": {"$lte": now}})
                    .sort("respond_by")
                    .limit(batch_size)
                    .to_list()
                )
                done = [d for d in await asyncio.gather(*(self._close(d, now) for d in due)) if d is not None]
                moved += len(done)
                if len(due) < batch_size or not done:
                    break
        reminders = await Dispute.find(
            {"state": DisputeState.open.value, "remind_at": {"$lte": now}}
        ).to_list()
        for dispute in reminders:
            event = _event(
                "dispute.response_due",
                dispute,
                now,
                due_at=_iso(dispute.respond_by),
                recipient_id=dispute.provider_user_id,
            )
            with contextlib.suppress(Conflict):
                await self._apply(
                    dispute, None, SYSTEM, now, {"remind_at": None}, event_name="remind", events=[event]
                )
        repaired = await self.reconcile(now)
        if moved or repaired:
            log.info("dispute.sweep", closed=moved, reminded=len(reminders), repaired=repaired)
        return moved

    async def _close(self, dispute: Dispute, now: datetime) -> Dispute | None:
        try:
            return await self._apply(
                dispute,
                DisputeEvent.close_evidence,
                SYSTEM,
                now,
                {"respond_by": None, "remind_at": None, "evidence_from": None},
                guard_due=True,
            )
        except Conflict:
            return None  # another sweeper, or an admin, moved it first

    async def reconcile(self, now: datetime) -> int:
        """Finish what a crash interrupted: a disputed booking without its dispute, or a resolved dispute
        whose booking has not reached its final state."""
        repaired = 0
        for request in await ServiceRequest.find({"state": RequestState.disputed.value}).to_list():
            dispute = await Dispute.get(request.id)
            if dispute is None and request.dispute_opening is not None:
                await self.ensure_for(request, now)
                repaired += 1
            elif dispute is not None and dispute.state is DisputeState.resolved:
                await self._close_booking(dispute, now)
                repaired += 1
        return repaired

    # --- the one writer --------------------------------------------------------------------------------

    async def _apply(
        self,
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
                raise Conflict(
                    f"Cannot {event.value} a dispute that is {dispute.state.value}.",
                    code="invalid_transition",
                    details={"state": dispute.state.value},
                )
            target = rule.target
        query: dict[str, Any] = {"_id": dispute.id, "state": dispute.state.value, "version": dispute.version}
        if guard_due:
            if dispute.respond_by is None or now < dispute.respond_by:
                raise Conflict("Not due yet.", code="not_due")
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
            raise DisputeChanged("The dispute changed meanwhile; reload it.")
        updated: Dispute = Dispute.model_validate(raw)
        if updated.pending_events:
            await outbox_service.publish_or_defer([updated], now)
        return updated


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


dispute_service = DisputeService()
