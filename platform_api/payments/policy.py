"""What happens to a booking's money when it ends, as data: one table the settlement executes, the API shows
(`GET /payments/cancellation-policy`) and the tests enumerate.

Authorise on request, capture on acceptance: the customer's card is authorised when the booking is
requested and captured when the provider accepts. A provider answers within 48 h (the booking state
machine's `RESPOND_WINDOW`), well inside the roughly 7 days a card authorisation lives, so the capture never
meets a lapsed authorisation; and a booking that is declined, expires or is cancelled before acceptance
costs the customer nothing (the authorisation is released, no refund, no fee). Capturing on acceptance
rather than at the job's date keeps the money safe however far ahead the booking is.

After acceptance the money is captured, so a cancellation refunds per the rules below, a dispute's decision
refunds what the admin decided, and every refund reverses the provider's transfer and the platform's fee in
proportion (Stripe's `reverse_transfer` and `refund_application_fee`).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared_models.enums import ActorRole, RequestState

S, A = RequestState, ActorRole

FREE_CANCELLATION_NOTICE = timedelta(hours=24)  # a customer cancelling at least this long before the start


@dataclass(frozen=True)
class CancellationRule:
    """Cancelling a booking in `state` by `actor`, with at least `notice` before the booking's window starts
    (None: any notice), refunds `refund_percent` % of what was captured (before acceptance nothing was: the
    authorisation is released instead)."""

    name: str
    state: RequestState
    actor: ActorRole
    refund_percent: int
    notice: timedelta | None = None
    summary: str = ""


CANCELLATION_POLICY: tuple[CancellationRule, ...] = (
    CancellationRule(
        "customer_before_acceptance",
        S.requested,
        A.customer,
        100,
        summary="Before the provider accepts: the card authorisation is released; nothing is charged.",
    ),
    CancellationRule(
        "provider_after_acceptance",
        S.accepted,
        A.provider,
        100,
        summary="The provider cancels an accepted booking: a full refund.",
    ),
    CancellationRule(
        "customer_with_notice",
        S.accepted,
        A.customer,
        100,
        notice=FREE_CANCELLATION_NOTICE,
        summary="The customer cancels at least 24 hours before the booked window starts: a full refund.",
    ),
    CancellationRule(
        "customer_late",
        S.accepted,
        A.customer,
        50,
        summary="The customer cancels less than 24 hours before the booked window starts: half is refunded.",
    ),
)

# The other ends of a booking that never reached acceptance: the authorisation is released.
RELEASED_STATES = frozenset({S.declined, S.expired})


def cancellation_rule(
    state: RequestState, actor: ActorRole, at: datetime, starts: datetime
) -> CancellationRule:
    """The first rule that matches a cancellation from `state` by `actor` at `at` of a booking whose window
    starts at `starts` (the table is ordered most generous first)."""
    for rule in CANCELLATION_POLICY:
        if (
            rule.state is state
            and rule.actor is actor
            and (rule.notice is None or starts - at >= rule.notice)
        ):
            return rule
    raise LookupError(f"no cancellation rule for {actor.value} cancelling a {state.value} booking")


def share(amount: int, percent: int) -> int:
    """`percent` % of `amount` minor units, rounded half up."""
    return (amount * percent + 50) // 100
