"""Races: concurrent accepts, accept against expiry at the boundary, two schedulers on one due set."""

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from platform_api.bookings.service import SYSTEM, booking_service
from platform_api.config import Settings
from platform_api.errors import Conflict
from platform_api.scheduler import JobRunner
from shared_models.clock import ManualClock
from shared_models.documents import JobLease, OutboxEvent, ServiceRequest
from shared_models.enums import RequestEvent, RequestState, Role
from tests.conftest import LiveStack
from tests.factories import API, Account, register, register_subscribed
from tests.platform_api.bookings.helpers import actors, create_direct, make_parties, request_payload


async def book_live(live_stack: LiveStack) -> tuple[Account, Account, str]:
    async with httpx.AsyncClient(base_url=live_stack.platform_url, timeout=30) as client:
        customer = await register(client, Role.customer)
        provider = await register_subscribed(client)
        payload = request_payload(provider.body["provider"]["id"], datetime.now(UTC))
        created = await client.post(f"{API}/requests", json=payload, headers=customer.bearer)
        assert created.status_code == 201, created.text
        return customer, provider, created.json()["id"]


@pytest.mark.e2e
async def test_fifty_concurrent_accepts_one_winner(live_stack: LiveStack) -> None:
    """Against the real uvicorn process: 50 simultaneous HTTP accepts of one request."""
    customer, provider, rid = await book_live(live_stack)
    async with httpx.AsyncClient(
        base_url=live_stack.platform_url, timeout=60, limits=httpx.Limits(max_connections=50)
    ) as client:
        responses = await asyncio.gather(
            *(client.post(f"{API}/requests/{rid}/accept", headers=provider.bearer) for _ in range(50))
        )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] + [409] * 49, statuses
        assert all(
            r.json()["error"]["code"] == "invalid_transition" for r in responses if r.status_code == 409
        )
        final = (await client.get(f"{API}/requests/{rid}", headers=customer.bearer)).json()
    assert final["state"] == "accepted" and final["version"] == 2
    assert [h["event"] for h in final["history"]] == ["create", "accept"]


async def test_accept_racing_expiry_at_the_boundary_has_exactly_one_winner(
    api: httpx.AsyncClient, clock: ManualClock
) -> None:
    parties = await make_parties(api)
    who = await actors(parties)
    winners = {"accept": 0, "expire": 0}
    for _ in range(10):
        request = await create_direct(parties, clock.now())
        assert request.respond_by is not None
        just_before = request.respond_by - timedelta(milliseconds=1)

        async def accept(r: ServiceRequest = request, at: object = just_before) -> str:
            await booking_service.transition(r, RequestEvent.accept, who["provider"], at)  # type: ignore[arg-type]
            return "accept"

        async def expire(r: ServiceRequest = request) -> str:
            assert r.respond_by is not None
            await booking_service.transition(r, RequestEvent.expire, SYSTEM, r.respond_by)
            return "expire"

        outcomes = await asyncio.gather(accept(), expire(), return_exceptions=True)
        won = [o for o in outcomes if isinstance(o, str)]
        lost = [o for o in outcomes if isinstance(o, BaseException)]
        assert len(won) == 1 and len(lost) == 1, outcomes
        assert isinstance(lost[0], Exception) and not isinstance(lost[0], AssertionError)
        winners[won[0]] += 1
        stored = await ServiceRequest.get(request.id)
        assert stored is not None
        assert stored.state is (RequestState.accepted if won[0] == "accept" else RequestState.expired)
        assert stored.version == 2 and [h.event for h in stored.history] == ["create", won[0]]
        assert await OutboxEvent.find({"aggregate_id": str(request.id)}).count() == 2
    assert sum(winners.values()) == 10


async def test_accept_and_expire_by_the_clock_at_47_59_59_and_48_00_00(
    api: httpx.AsyncClient, clock: ManualClock, settings: Settings
) -> None:
    parties = await make_parties(api)
    request = await create_direct(parties, clock.now())
    runner = JobRunner(settings, clock)
    clock.advance(timedelta(hours=47, minutes=59, seconds=59))
    result = await runner.run("bookings.sweep")
    assert result is not None and result.transitioned == 0
    assert (await ServiceRequest.get(request.id)).state is RequestState.requested  # type: ignore[union-attr]
    clock.advance(timedelta(seconds=1))
    result = await runner.run("bookings.sweep")
    assert result is not None and result.transitioned == 1
    expired = await ServiceRequest.get(request.id)
    assert expired is not None and expired.state is RequestState.expired
    assert expired.history[-1].actor_role == "system" and expired.history[-1].at == request.respond_by


async def test_auto_confirm_after_seven_days_and_not_before(
    api: httpx.AsyncClient, clock: ManualClock, settings: Settings
) -> None:
    parties = await make_parties(api)
    who = await actors(parties)
    request = await create_direct(parties, clock.now())
    request = await booking_service.transition(request, RequestEvent.accept, who["provider"], clock.now())
    request = await booking_service.transition(request, RequestEvent.complete, who["provider"], clock.now())
    runner = JobRunner(settings, clock)
    clock.advance(timedelta(days=7) - timedelta(seconds=1))
    await runner.run("bookings.sweep")
    assert (await ServiceRequest.get(request.id)).state is RequestState.completed  # type: ignore[union-attr]
    clock.advance(timedelta(seconds=1))
    await runner.run("bookings.sweep")
    assert (await ServiceRequest.get(request.id)).state is RequestState.auto_confirmed  # type: ignore[union-attr]


async def test_two_schedulers_sweeping_one_due_set_transition_each_request_once(
    api: httpx.AsyncClient, clock: ManualClock
) -> None:
    parties = await make_parties(api)
    requests = [await create_direct(parties, clock.now()) for _ in range(40)]
    clock.advance(timedelta(hours=48))
    # Straight to the sweep (no lease), both at once: only the compare-and-set keeps them apart.
    first, second = await asyncio.gather(
        booking_service.sweep_due(clock.now(), batch_size=7),
        booking_service.sweep_due(clock.now(), batch_size=7),
    )
    assert first.transitioned + second.transitioned == 40
    for request in requests:
        stored = await ServiceRequest.get(request.id)
        assert stored is not None and stored.state is RequestState.expired and stored.version == 2
        assert [h.event for h in stored.history] == ["create", "expire"]
        assert await OutboxEvent.find({"aggregate_id": str(request.id)}).count() == 2


async def test_the_lease_lets_one_scheduler_work_per_tick(
    api: httpx.AsyncClient, clock: ManualClock, settings: Settings
) -> None:
    parties = await make_parties(api)
    for _ in range(3):
        await create_direct(parties, clock.now())
    clock.advance(timedelta(hours=48))
    a, b = JobRunner(settings, clock, holder="a"), JobRunner(settings, clock, holder="b")
    first, second = await asyncio.gather(a.run("bookings.sweep"), b.run("bookings.sweep"))
    assert sorted([first is None, second is None]) == [False, True], "exactly one holder works"
    lease = await JobLease.find_one({"name": "bookings.sweep"})
    assert lease is not None
    # the holder renews; the other takes over once the lease has expired
    holder, other = (a, b) if lease.holder == "a" else (b, a)
    assert await other.run("bookings.sweep") is None
    assert await holder.run("bookings.sweep") is not None
    clock.advance(timedelta(seconds=settings.sweep_interval_seconds * 3))
    assert await other.run("bookings.sweep") is not None


async def test_a_restart_after_downtime_catches_up_everything_overdue(
    api: httpx.AsyncClient, clock: ManualClock, settings: Settings
) -> None:
    parties = await make_parties(api)
    who = await actors(parties)
    requested = [await create_direct(parties, clock.now()) for _ in range(25)]
    completed = []
    for _ in range(5):
        r = await create_direct(parties, clock.now())
        r = await booking_service.transition(r, RequestEvent.accept, who["provider"], clock.now())
        completed.append(
            await booking_service.transition(r, RequestEvent.complete, who["provider"], clock.now())
        )
    clock.advance(timedelta(days=10))  # the scheduler was down all this time
    fresh = JobRunner(settings, clock, holder="after-restart")
    settings_small = settings.model_copy(update={"sweep_batch_size": 4})  # several batches
    fresh.settings = settings_small
    result = await fresh.run("bookings.sweep")
    assert result is not None and result.transitioned == 30
    for r in requested:
        assert (await ServiceRequest.get(r.id)).state is RequestState.expired  # type: ignore[union-attr]
    for r in completed:
        assert (await ServiceRequest.get(r.id)).state is RequestState.auto_confirmed  # type: ignore[union-attr]
    again = await fresh.run("bookings.sweep")
    assert again is not None and again.transitioned == 0


async def test_a_lost_race_through_the_api_reports_the_winning_state(
    api: httpx.AsyncClient, clock: ManualClock
) -> None:
    parties = await make_parties(api)
    who = await actors(parties)
    request = await create_direct(parties, clock.now())
    await booking_service.transition(request, RequestEvent.decline, who["provider"], clock.now())
    with pytest.raises(Conflict) as lost:
        # the provider's stale screen still shows "requested"
        await booking_service.transition(request, RequestEvent.accept, who["provider"], clock.now())
    assert lost.value is not None
