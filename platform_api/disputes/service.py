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

from platform_api.disputes import casework, deadlines, opening, reads, resolution
from platform_api.disputes import evidence as items
from platform_api.disputes.transitions import party_role

__all__ = ["DisputeService", "dispute_service", "party_role"]


class DisputeService:
    """The domain's operations, each the function of the module named for its concern (their docstrings
    give shapes and errors)."""

    open = staticmethod(opening.open)
    ensure_for = staticmethod(opening.ensure_for)
    get = staticmethod(reads.get)
    get_for_party = staticmethod(reads.get_for_party)
    list_for_party = staticmethod(reads.list_for_party)
    list_for_admin = staticmethod(reads.list_for_admin)
    evidence = staticmethod(items.items)
    add_evidence = staticmethod(items.add_evidence)
    assign = staticmethod(casework.assign)
    request_info = staticmethod(casework.request_info)
    resolve = staticmethod(resolution.resolve)
    reconcile = staticmethod(resolution.reconcile)
    sweep_due = staticmethod(deadlines.sweep_due)


dispute_service = DisputeService()
