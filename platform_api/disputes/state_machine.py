"""The dispute state machine as data: the service executes it, the tests enumerate it."""

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from shared_models.documents import DisputeState
from shared_models.enums import ActorRole

RESPONSE_WINDOW = timedelta(hours=72)  # the provider answers (and both add evidence) within 72 h
INFO_WINDOW = timedelta(hours=72)  # a party asked for more information has as long
REMINDER_LEAD = timedelta(hours=24)  # the provider is reminded a day before the response deadline


class DisputeEvent(StrEnum):
    open = "open"
    close_evidence = "close_evidence"  # the scheduler, at the deadline
    request_info = "request_info"
    resolve = "resolve"


S, E, A = DisputeState, DisputeEvent, ActorRole


@dataclass(frozen=True)
class Rule:
    source: DisputeState
    event: DisputeEvent
    target: DisputeState
    actors: frozenset[ActorRole]
    due: bool = False  # only once `respond_by` has passed (the scheduler's events)


TRANSITIONS: tuple[Rule, ...] = (
    Rule(S.open, E.close_evidence, S.under_review, frozenset({A.system}), due=True),
    Rule(S.awaiting_info, E.close_evidence, S.under_review, frozenset({A.system}), due=True),
    Rule(S.open, E.request_info, S.awaiting_info, frozenset({A.admin})),
    Rule(S.under_review, E.request_info, S.awaiting_info, frozenset({A.admin})),
    Rule(S.awaiting_info, E.request_info, S.awaiting_info, frozenset({A.admin})),
    Rule(S.open, E.resolve, S.resolved, frozenset({A.admin})),
    Rule(S.under_review, E.resolve, S.resolved, frozenset({A.admin})),
    Rule(S.awaiting_info, E.resolve, S.resolved, frozenset({A.admin})),
)

_BY_KEY = {(r.source, r.event): r for r in TRANSITIONS}
OPEN_STATES = frozenset(r.source for r in TRANSITIONS)
DUE_RULES = tuple(r for r in TRANSITIONS if r.due)


def rule_for(state: DisputeState, event: DisputeEvent) -> Rule | None:
    return _BY_KEY.get((state, event))
