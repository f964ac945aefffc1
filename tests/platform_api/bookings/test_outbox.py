"""Every transition yields exactly one outbox event, even across a crash between the two writes."""

from collections.abc import Callable
from datetime import timedelta

import pytest

from platform_api.bookings.service import booking_service
from platform_api.outbox.service import STALE_AFTER, OutboxService, outbox_service
from shared_models.clock import ManualClock
from shared_models.documents import DomainEvent, OutboxEvent, ServiceRequest
from shared_models.enums import RequestEvent
from tests.plans import index_served
from tests.platform_api.bookings.helpers import Parties, actors, create_direct


class Crash(Exception):
    """The process 'dies' here: nothing after this point of the publish runs."""


async def _crash(*_: object) -> None:
    raise Crash


@pytest.fixture
def crash_at(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """crash_at("publish_many"): die before the outbox write; crash_at("_clear"): after it, before clearing."""
    return lambda step: monkeypatch.setattr(OutboxService, step, _crash)


async def events_of(request: ServiceRequest) -> list[OutboxEvent]:
    return await OutboxEvent.find({"aggregate_id": str(request.id)}).to_list()


async def test_crash_after_the_state_update_before_the_outbox_write(
    parties: Parties, clock: ManualClock, crash_at: Callable[[str], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    who = await actors(parties)
    request = await create_direct(parties, clock.now())
    crash_at("publish_many")
    accepted = await booking_service.transition(request, RequestEvent.accept, who["provider"], clock.now())
    monkeypatch.undo()

    stored = await ServiceRequest.get(request.id)
    assert stored is not None and stored.state == "accepted"
    assert [e.type for e in stored.pending_events] == ["request.accepted"]  # the event survived the crash
    assert [e.type for e in await events_of(request)] == ["request.created"]  # but is not in the outbox yet

    assert await outbox_service.publish_stale(clock.now()) == 0  # too fresh: the normal path may still run
    clock.advance(STALE_AFTER)
    assert await outbox_service.publish_stale(clock.now()) == 1
    assert sorted(e.type for e in await events_of(request)) == ["request.accepted", "request.created"]
    assert await outbox_service.publish_stale(clock.now()) == 0  # running the sweeper twice adds none
    assert len(await events_of(request)) == 2
    recovered = await ServiceRequest.get(request.id)
    assert recovered is not None and recovered.pending_events == [] and recovered.pending_since is None
    assert recovered.version == accepted.version


async def test_crash_after_the_outbox_write_before_clearing(
    parties: Parties, clock: ManualClock, crash_at: Callable[[str], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    who = await actors(parties)
    request = await create_direct(parties, clock.now())
    crash_at("_clear")
    await booking_service.transition(request, RequestEvent.decline, who["provider"], clock.now())
    monkeypatch.undo()
    assert len(await events_of(request)) == 2
    stuck = await ServiceRequest.get(request.id)
    assert stuck is not None and [e.type for e in stuck.pending_events] == [
        "request.declined"
    ]  # in the outbox, not cleared
    clock.advance(STALE_AFTER)
    assert await outbox_service.publish_stale(clock.now()) == 0  # re-publishing finds them all present
    assert len(await events_of(request)) == 2
    stored = await ServiceRequest.get(request.id)
    assert stored is not None and stored.pending_events == []


async def test_a_transition_on_top_of_an_unpublished_one_keeps_both_events(
    parties: Parties, clock: ManualClock, crash_at: Callable[[str], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    who = await actors(parties)
    request = await create_direct(parties, clock.now())
    crash_at("publish_many")
    accepted = await booking_service.transition(request, RequestEvent.accept, who["provider"], clock.now())
    monkeypatch.undo()
    await booking_service.transition(accepted, RequestEvent.complete, who["provider"], clock.now())
    types = sorted(e.type for e in await events_of(request))
    assert types == ["request.accepted", "request.completed", "request.created"]


async def test_publishing_the_same_event_twice_adds_nothing(parties: Parties, clock: ManualClock) -> None:
    request = await create_direct(parties, clock.now())
    (published,) = await events_of(request)
    replay = await ServiceRequest.get(request.id)
    assert replay is not None
    replay.pending_events = [
        DomainEvent(
            id=published.event_id,
            type=published.type,
            occurred_at=published.occurred_at,
            payload=published.payload,
        )
    ]
    assert await outbox_service.publish(replay, clock.now()) == 0
    assert len(await events_of(request)) == 1


async def test_the_sweeper_query_is_index_served(parties: Parties, clock: ManualClock) -> None:
    plan = (
        await ServiceRequest.get_pymongo_collection()
        .find({"pending_since": {"$lte": clock.now() - timedelta(seconds=30)}})
        .explain()
    )
    assert index_served(plan), plan["queryPlanner"]["winningPlan"]
