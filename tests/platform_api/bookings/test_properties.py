"""Property-based: random events from random actors at random times never break the state machine's invariants."""

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from platform_api.bookings.service import SYSTEM, Actor, booking_service
from platform_api.bookings.state_machine import TERMINAL_STATES, TRANSITIONS, rule_for
from platform_api.errors import AppError
from shared_models.clock import ManualClock
from shared_models.documents import OutboxEvent, ServiceRequest, User
from shared_models.enums import ActorRole, RequestEvent, RequestState
from tests.platform_api.bookings.helpers import Parties, actors, create_direct

ACTORS = ("customer", "provider", "stranger", "system")
# Time jumps cluster around the deadlines (48 h, 7 days), where the interesting races are.
HOURS = st.sampled_from([0, 0, 1, 24, 47, 48, 49, 24 * 7 - 1, 24 * 7, 24 * 8])


def check_invariants(request: ServiceRequest) -> None:
    assert request.version == len(request.history)
    assert request.history[0].from_state is None and request.history[0].to_state is RequestState.requested
    for previous, entry in zip(request.history, request.history[1:], strict=False):
        assert entry.from_state is previous.to_state  # an unbroken chain
        rule = rule_for(previous.to_state, RequestEvent(entry.event))
        assert rule is not None and rule.target is entry.to_state  # every step is in the table
        assert entry.actor_role in rule.actors
        assert previous.to_state not in TERMINAL_STATES  # nothing ever left a terminal state
    assert request.state is request.history[-1].to_state


def legal_moves(state: RequestState) -> list[tuple[RequestEvent, str]]:
    return [(r.event, role.value) for r in TRANSITIONS if r.source is state for role in r.actors]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
async def test_random_event_sequences_keep_the_invariants(
    parties: Parties, clock: ManualClock, data: st.DataObject
) -> None:
    stranger = await User.get(parties.other_customer.id)
    assert stranger is not None
    cast = {**await actors(parties), "stranger": Actor.of(stranger), "system": SYSTEM}
    request = await create_direct(parties, clock.now())
    for _ in range(data.draw(st.integers(min_value=1, max_value=8), label="steps")):
        before = await ServiceRequest.get(request.id)
        assert before is not None
        moves = legal_moves(before.state)
        # Half the time a move the table allows from here (so deep paths get explored), else anything.
        if moves and data.draw(st.booleans(), label="legal"):
            event, actor_name = data.draw(st.sampled_from(moves), label="move")
        else:
            event = data.draw(st.sampled_from(list(RequestEvent)), label="event")
            actor_name = data.draw(st.sampled_from(ACTORS), label="actor")
        clock.advance(timedelta(hours=data.draw(HOURS, label="hours")))
        try:
            await booking_service.transition(before, event, cast[actor_name], clock.now(), reason="why not")
            applied = True
        except AppError:
            applied = False
        after = await ServiceRequest.get(request.id)
        assert after is not None
        check_invariants(after)
        assert after.version == before.version + (1 if applied else 0)
        if before.state in TERMINAL_STATES:
            assert not applied and after.state is before.state
        if applied:
            rule = rule_for(before.state, event)
            assert rule is not None and after.state is rule.target
            assert ActorRole(cast[actor_name].role) in rule.actors
    final = await ServiceRequest.get(request.id)
    assert final is not None
    assert await OutboxEvent.find({"aggregate_id": str(request.id)}).count() == final.version
