"""The booking state machine as data: one table that the service executes and the tests enumerate."""

from dataclasses import dataclass
from datetime import timedelta

from shared_models.enums import ActorRole, RequestEvent, RequestState

RESPOND_WINDOW = timedelta(hours=48)  # a provider answers within 48 h, or the request expires
CONFIRM_WINDOW = timedelta(days=7)  # a customer confirms or disputes within 7 days, or it auto-confirms

S, E, A = RequestState, RequestEvent, ActorRole


@dataclass(frozen=True)
class Rule:
    source: RequestState
    event: RequestEvent
    target: RequestState
    actors: frozenset[ActorRole]
    # Deadlines: `before` = allowed only while now < that due time; `after` = only once now >= it.
    before: str | None = None
    after: str | None = None
    reason_required: bool = False


TRANSITIONS: tuple[Rule, ...] = (
    Rule(S.requested, E.accept, S.accepted, frozenset({A.provider}), before="respond_by"),
    Rule(S.requested, E.decline, S.declined, frozenset({A.provider}), before="respond_by"),
    Rule(S.requested, E.cancel, S.cancelled, frozenset({A.customer}), before="respond_by"),
    Rule(S.requested, E.expire, S.expired, frozenset({A.system}), after="respond_by"),
    Rule(S.accepted, E.complete, S.completed, frozenset({A.provider})),
    Rule(S.accepted, E.cancel, S.cancelled, frozenset({A.customer, A.provider}), reason_required=True),
    Rule(S.completed, E.confirm, S.confirmed, frozenset({A.customer}), before="confirm_by"),
    Rule(S.completed, E.auto_confirm, S.auto_confirmed, frozenset({A.system}), after="confirm_by"),
    Rule(S.completed, E.dispute, S.disputed, frozenset({A.customer}), before="confirm_by"),
    # Only the disputes service resolves, for the admin who decided (the outcome goes in `resolution`).
    Rule(S.disputed, E.resolve, S.resolved, frozenset({A.admin})),
)

# Due times each state starts (field -> how long after entering the state).
DEADLINES_ON_ENTRY: dict[RequestState, tuple[str, timedelta]] = {
    S.requested: ("respond_by", RESPOND_WINDOW),
    S.completed: ("confirm_by", CONFIRM_WINDOW),
}

# Reminders before a deadline: state -> (outbox event type, how long before the deadline). One per stay in
# the state: `remind_at` is set on entering it and cleared when the reminder goes out.
REMINDERS: dict[RequestState, tuple[str, timedelta]] = {
    S.requested: ("request.response_reminder", timedelta(hours=24)),
    S.completed: ("request.confirmation_reminder", timedelta(days=2)),
}

_BY_KEY = {(r.source, r.event): r for r in TRANSITIONS}
TERMINAL_STATES = frozenset(s for s in RequestState if not any(r.source is s for r in TRANSITIONS))
SYSTEM_RULES = tuple(r for r in TRANSITIONS if ActorRole.system in r.actors)


def rule_for(state: RequestState, event: RequestEvent) -> Rule | None:
    return _BY_KEY.get((state, event))


def allowed_events(state: RequestState, role: ActorRole) -> list[RequestEvent]:
    return [r.event for r in TRANSITIONS if r.source is state and role in r.actors]


def event_type(rule: Rule) -> str:
    """The outbox event type of a transition, e.g. `request.accepted`."""
    return f"request.{rule.target.value}"
