"""The transition table, enumerated: every legal move works, every illegal (state, event, role) is refused."""

import itertools

import httpx
import pytest

from platform_api.bookings.service import SYSTEM, InvalidTransition, booking_service
from platform_api.bookings.state_machine import TERMINAL_STATES, TRANSITIONS, rule_for
from platform_api.errors import Conflict
from shared_models.clock import ManualClock
from shared_models.documents import OutboxEvent, ServiceRequest
from shared_models.enums import ActorRole, RequestEvent, RequestState
from tests.platform_api.bookings.helpers import PATHS, actors, drive_to, make_parties

PARTY_ROLES = (ActorRole.customer, ActorRole.provider)


def test_the_table_is_well_formed() -> None:
    assert len({(r.source, r.event) for r in TRANSITIONS}) == len(TRANSITIONS), "one rule per (state, event)"
    assert set(PATHS) == set(RequestState), "every state is reachable (and the tests know how)"
    assert {
        RequestState.declined,
        RequestState.cancelled,
        RequestState.expired,
        RequestState.confirmed,
        RequestState.auto_confirmed,
    } <= TERMINAL_STATES
    for rule in TRANSITIONS:
        assert not (rule.before and rule.after)
        if ActorRole.system in rule.actors:
            assert rule.after, f"system rule {rule.event} must wait for a deadline"


@pytest.mark.parametrize("rule", TRANSITIONS, ids=lambda r: f"{r.source.value}-{r.event.value}")
async def test_every_legal_transition_applies_once_with_history_and_one_event(
    api: httpx.AsyncClient, clock: ManualClock, rule: object
) -> None:
    from platform_api.bookings.state_machine import Rule

    assert isinstance(rule, Rule)
    parties = await make_parties(api)
    request, now = await drive_to(parties, rule.source, clock.now())
    who = await actors(parties)
    actor = SYSTEM if ActorRole.system in rule.actors else who[next(iter(sorted(rule.actors))).value]
    if rule.after:
        now = getattr(request, rule.after)
    after = await booking_service.transition(request, rule.event, actor, now, reason="because")
    assert after.state is rule.target
    assert after.version == request.version + 1 == len(after.history)
    assert after.history[-1].event == rule.event.value and after.history[-1].from_state is rule.source
    assert after.pending_events == []  # published
    assert await OutboxEvent.find({"aggregate_id": str(request.id)}).count() == after.version
    with pytest.raises(Conflict):  # applying the same event to the stale copy can never apply twice
        await booking_service.transition(request, rule.event, actor, now, reason="because")


ILLEGAL = [
    (state, event, role)
    for state, event, role in itertools.product(RequestState, RequestEvent, PARTY_ROLES)
    if (rule := rule_for(state, event)) is None or role not in rule.actors
]


async def test_every_illegal_state_event_role_combination_is_refused(
    api: httpx.AsyncClient, clock: ManualClock
) -> None:
    parties = await make_parties(api)
    who = await actors(parties)
    requests = {state: (await drive_to(parties, state, clock.now()))[0] for state in RequestState}
    assert len(ILLEGAL) > 60  # generated from the table, not hand-listed
    for state, event, role in ILLEGAL:
        request = requests[state]
        with pytest.raises(InvalidTransition) as refused:
            await booking_service.perform(str(request.id), event, who[role.value], clock.now(), reason="r")
        assert refused.value.details is not None and refused.value.details["state"] == state.value
        stored = await ServiceRequest.get(request.id)
        assert stored is not None and stored.version == request.version, (state, event, role)


async def test_system_events_cannot_be_triggered_by_parties_nor_early(
    api: httpx.AsyncClient, clock: ManualClock
) -> None:
    parties = await make_parties(api)
    request, now = await drive_to(parties, RequestState.requested, clock.now())
    assert request.respond_by is not None
    with pytest.raises(Conflict) as early:
        await booking_service.transition(
            request,
            RequestEvent.expire,
            SYSTEM,
            request.respond_by.replace(microsecond=0) - (request.respond_by - now) / 2,
        )
    assert early.value.code == "not_due"
