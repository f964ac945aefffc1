"""Booking benchmarks on a real engine process: contested transitions, and sweeping a large due set.

    .venv/bin/python -m bench.bookings [--due 100000] [--contested 200] [--racers 20]

Prints figures only (transitions/s, sweep time, peak memory); asserts nothing about speed.
"""

import argparse
import asyncio
import resource
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

from beanie import PydanticObjectId

from bench.fixtures import make_user, stripe_subscription, subscribe
from bench.scratch import interruptible, release
from platform_api.bookings.schemas import CreateRequest
from platform_api.bookings.service import Actor, booking_service
from platform_api.bookings.state_machine import RESPOND_WINDOW
from platform_api.errors import Conflict
from scripts import stack
from scripts.processes import free_port
from shared_models import store
from shared_models.documents import OutboxEvent, ProviderProfile, ServiceRequest, TimeWindow, Transition, User
from shared_models.enums import ActorRole, RequestEvent, RequestState, Role, ServiceCategory
from shared_models.ids import sortable_key
from shared_models.runtime.logs import configure_logging
from shared_models.runtime.registry import connect, init_models

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


async def setup_parties() -> tuple[User, User, ProviderProfile]:
    customer = await make_user("c@bench.example.com", Role.customer, NOW)
    owner = await make_user("p@bench.example.com", Role.provider, NOW)
    profile = await ProviderProfile(
        owner_id=str(owner.id),
        business_name="Bench",
        slug="bench",
        categories=[ServiceCategory.cleaning],
        created_at=NOW,
        updated_at=NOW,
    ).insert()
    await subscribe([(profile, stripe_subscription(0, "price_basic_monthly", NOW))], NOW)
    return customer, owner, profile


async def contested(
    customer: User, owner: User, profile: ProviderProfile, requests: int, racers: int
) -> None:
    data = CreateRequest.model_validate(
        {
            "provider_id": str(profile.id),
            "category": "cleaning",
            "description": "bench",
            "address": "here",
            "location": {"lat": 0, "lng": 0},
            "window": {
                "start": (NOW + timedelta(days=2)).isoformat(),
                "end": (NOW + timedelta(days=2, hours=2)).isoformat(),
            },
        }
    )
    provider = Actor(id=str(owner.id), role=ActorRole.provider)
    wins = attempts = 0
    started = time.perf_counter()
    for _ in range(requests):
        request = await booking_service.create(customer, data, NOW)

        async def accept(r: ServiceRequest = request) -> bool:
            try:
                await booking_service.transition(r, RequestEvent.accept, provider, NOW)
                return True
            except Conflict:
                return False

        outcomes = await asyncio.gather(*(accept() for _ in range(racers)))
        wins += sum(outcomes)
        attempts += len(outcomes)
    elapsed = time.perf_counter() - started
    print(
        f"contested accepts: {requests} requests x {racers} racers = {attempts} attempts in {elapsed:.2f}s "
        f"→ {attempts / elapsed:,.0f} attempts/s, {wins} winners (expected {requests})"
    )


async def sweep(customer: User, owner: User, profile: ProviderProfile, due: int) -> None:
    created = NOW - RESPOND_WINDOW - timedelta(minutes=1)
    docs = []
    for _ in range(due):
        rid = PydanticObjectId()
        docs.append(
            ServiceRequest(
                id=rid,
                customer_id=str(customer.id),
                provider_id=str(profile.id),
                provider_user_id=str(owner.id),
                category=ServiceCategory.cleaning,
                description="bench",
                address="here",
                location={"lat": 0, "lng": 0},  # type: ignore[arg-type]
                window=TimeWindow(start=NOW, end=NOW + timedelta(hours=1)),
                state=RequestState.requested,
                version=1,
                history=[
                    Transition(
                        from_state=None,
                        to_state=RequestState.requested,
                        event="create",
                        actor_id=str(customer.id),
                        actor_role=ActorRole.customer,
                        at=created,
                    )
                ],
                respond_by=created + RESPOND_WINDOW,
                created_at=created,
                updated_at=created,
                created_key=sortable_key(created, rid),
            ).model_dump(by_alias=True, exclude={"revision_id"})
        )
    t0 = time.perf_counter()
    for i in range(0, len(docs), 5000):
        await store.insert_new(ServiceRequest, docs[i : i + 5000])  # one unordered insert_many each
    print(f"seeded {due:,} due requests in {time.perf_counter() - t0:.1f}s")
    del docs
    tracemalloc.start()
    t0 = time.perf_counter()
    result = await booking_service.sweep_due(NOW, batch_size=500)
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    expired = await ServiceRequest.find({"state": "expired"}).count()
    events = await OutboxEvent.find({"type": "request.expired"}).count()
    print(
        f"sweep: {result.transitioned:,} expired in {elapsed:.1f}s → {result.transitioned / elapsed:,.0f} transitions/s; "
        f"peak Python heap during sweep {peak / 2**20:.0f} MiB; process max RSS "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )
    print(f"check: {expired:,} requests expired, {events:,} request.expired outbox events")


async def main(due: int, contested_requests: int, racers: int) -> None:
    configure_logging("WARNING")
    tmp = Path(tempfile.mkdtemp(prefix="bench-bookings-"))
    port = free_port()
    procs = [stack.engine(port, tmp / "mongo", tmp).start()]
    client = connect(stack.mongodb_uri(port), 10_000)
    try:
        await init_models(client, "bench")
        customer, owner, profile = await setup_parties()
        await contested(customer, owner, profile, contested_requests, racers)
        await sweep(customer, owner, profile, due)
    finally:
        await client.close()
        release(tmp, procs)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--due", type=int, default=100_000)
    parser.add_argument("--contested", type=int, default=200)
    parser.add_argument("--racers", type=int, default=20)
    args = parser.parse_args()
    interruptible(lambda: asyncio.run(main(args.due, args.contested, args.racers)))
