"""Disputes: the domain's one entry point for routers, the admin console, jobs and scripts. The only writer
of `Dispute` (`transitions.apply`, one compare-and-set per change) and `DisputeEvidence` (`evidence`).

The work is split by concern, each in its module:
- `opening`: a dispute on a completed booking (idempotent: it has its booking's id);
- `reads`: by id, as a party, lists;
- `evidence`: append-only items while the dispute accepts them;
- `casework`: the admin takes the dispute, asks a party for more;
- `resolution`: the decision → the refund decision → closing the booking (a cross-domain workflow), and
  `reconcile`, which finishes what a crash between those steps interrupted;
- `deadlines`: evidence closing and reminders (the `disputes.sweep` job).
"""

from datetime import datetime

from platform_api.disputes import casework, deadlines, evidence, opening, reads, resolution
from platform_api.disputes.transitions import party_role
from shared_models.documents import (
    Dispute,
    DisputeCategory,
    DisputeEvidence,
    DisputeOutcome,
    DisputeState,
    RefundKind,
    ServiceRequest,
    User,
)
from shared_models.enums import ActorRole

__all__ = ["DisputeService", "dispute_service", "party_role"]


class DisputeService:
    async def open(
        self, customer: User, request_id: str, category: DisputeCategory, statement: str, now: datetime
    ) -> Dispute:
        """The customer disputes a completed job within the confirmation window (then auto-confirm stops)."""
        return await opening.open(customer, request_id, category, statement, now)

    async def ensure_for(self, request: ServiceRequest, now: datetime) -> Dispute:
        return await opening.ensure_for(request, now)

    async def get(self, dispute_id: str) -> Dispute | None:
        return await reads.get(dispute_id)

    async def get_for_party(self, dispute_id: str, user: User) -> Dispute | None:
        return await reads.get_for_party(dispute_id, user)

    async def list_for_party(
        self, user: User, cursor: str | None, limit: int
    ) -> tuple[list[Dispute], str | None]:
        return await reads.list_for_party(user, cursor, limit)

    async def list_for_admin(
        self,
        state: DisputeState | None,
        category: DisputeCategory | None,
        opened_before: datetime | None,
        oldest_first: bool,
        cursor: str | None,
        limit: int,
    ) -> tuple[list[Dispute], str | None]:
        return await reads.list_for_admin(state, category, opened_before, oldest_first, cursor, limit)

    async def evidence(self, dispute: Dispute) -> list[DisputeEvidence]:
        return await evidence.items(dispute)

    async def add_evidence(
        self,
        dispute_id: str,
        user: User,
        text: str | None,
        media_id: str | None,
        corrects: str | None,
        now: datetime,
    ) -> DisputeEvidence:
        return await evidence.add_evidence(dispute_id, user, text, media_id, corrects, now)

    async def assign(self, dispute: Dispute, admin: User, now: datetime) -> Dispute:
        return await casework.assign(dispute, admin, now)

    async def request_info(
        self, dispute: Dispute, admin: User, party: ActorRole, question: str, now: datetime
    ) -> Dispute:
        return await casework.request_info(dispute, admin, party, question, now)

    async def resolve(
        self,
        dispute: Dispute,
        admin: User,
        outcome: DisputeOutcome,
        refund: tuple[RefundKind, int | None] | None,
        note: str,
        now: datetime,
    ) -> Dispute:
        return await resolution.resolve(dispute, admin, outcome, refund, note, now)

    async def reconcile(self, now: datetime) -> int:
        return await resolution.reconcile(now)

    async def sweep_due(self, now: datetime, batch_size: int = 200) -> int:
        return await deadlines.sweep_due(now, batch_size)


dispute_service = DisputeService()
