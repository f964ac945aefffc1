"""Search benchmark on a real engine process: typical queries against 10k and 100k providers.

    .venv/bin/python -m bench.search [--sizes 10000 100000] [--queries 300]

Two spreads of providers over a metro area (London) and a country (Great Britain), three tiers and 5 %
cancelled subscriptions, each size in its own database:

- proportional: 30 % in the metro, 70 % over the country — ten times the providers means ten times the
  providers serving any point, so every query has ~10x the matches to rank;
- fixed-local: the metro holds 3,000 providers at every size and the rest are spread over the country
  away from it — metro queries find the same matches at every size, so only the collection grows.

Queries are typical app searches: a point in the metro (and, proportional, 30 % in the country), a
category filter half the time, the first page of 20 — through the search service (cell lookups with the
subscription join, filters, ranking, impressions), without HTTP. Prints p50/p95 per size and spread and
the p95 ratios; asserts nothing about speed.
"""

import argparse
import asyncio
import math
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bson import ObjectId

from bench.fixtures import stripe_subscription, subscribe
from platform_api.providers.service import coverage_rows
from platform_api.search.coverage import haversine_km
from platform_api.search.service import SearchQuery, search_service
from scripts import stack
from scripts.processes import free_port
from shared_models import connect, init_models
from shared_models.documents import Money, ProviderCoverage, ProviderProfile, ServiceArea
from shared_models.enums import ServiceCategory
from shared_models.logs import configure_logging

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
METRO = (51.5072, -0.1276)
COUNTRY = ((50.3, 55.8), (-4.5, 1.3))  # lat and lng ranges of (roughly) Great Britain's south and middle
PRICES = {"basic": "price_basic_monthly", "pro": "price_pro_monthly", "premium": "price_premium_monthly"}
BATCH = 20_000


def metro_point(rng: random.Random, radius_km: float) -> tuple[float, float]:
    r, theta = radius_km * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
    lat = METRO[0] + (r * math.cos(theta)) / 111.0
    lng = METRO[1] + (r * math.sin(theta)) / (111.0 * math.cos(math.radians(METRO[0])))
    return lat, lng


def country_point(rng: random.Random) -> tuple[float, float]:
    return rng.uniform(*COUNTRY[0]), rng.uniform(*COUNTRY[1])


FIXED_METRO = 3_000


def far_from_metro(rng: random.Random) -> tuple[float, float]:
    """A country point whose provider (radius ≤ 40 km) cannot reach a metro query (≤ 15 km from centre)."""
    while True:
        lat, lng = country_point(rng)
        if haversine_km(lat, lng, *METRO) > 90:
            return lat, lng


async def seed(size: int, spread: str) -> None:
    rng = random.Random(size)
    categories = list(ServiceCategory)
    profiles: list[ProviderProfile] = []
    rows: list[dict[str, object]] = []
    for n in range(size):
        if spread == "proportional":
            in_metro = rng.random() < 0.3
            lat, lng = metro_point(rng, 30) if in_metro else country_point(rng)
        else:
            in_metro = n < FIXED_METRO
            lat, lng = metro_point(rng, 30) if in_metro else far_from_metro(rng)
        radius = rng.uniform(2, 15) if in_metro else rng.uniform(5, 40)
        profile = ProviderProfile(
            id=ObjectId(),
            owner_id=str(ObjectId()),
            business_name=f"Provider {n}",
            slug=f"provider-{n}",
            categories=rng.sample(categories, rng.randint(1, 3)),
            service_area=ServiceArea(lat=lat, lng=lng, radius_km=radius),
            price_from=Money(amount_minor=rng.randrange(2000, 12000, 500), currency="GBP"),
            rating_count=(count := rng.randint(0, 40)),
            rating_sum=sum(rng.randint(3, 5) for _ in range(count)),
            created_at=NOW,
            updated_at=NOW,
        )
        profiles.append(profile)
        rows += [r.model_dump(by_alias=True, exclude={"id", "revision_id"}) for r in coverage_rows(profile)]
    docs = [p.model_dump(by_alias=True, exclude={"revision_id"}) for p in profiles]
    for i in range(0, len(docs), BATCH):
        await ProviderProfile.get_pymongo_collection().insert_many(docs[i : i + BATCH], ordered=False)
    for i in range(0, len(rows), BATCH):
        await ProviderCoverage.get_pymongo_collection().insert_many(rows[i : i + BATCH], ordered=False)
    tiers = rng.choices(list(PRICES), weights=[55, 30, 15], k=size)
    subscriptions = [
        (p, stripe_subscription(n, PRICES[tier], NOW, "active" if rng.random() > 0.05 else "canceled"))
        for n, (p, tier) in enumerate(zip(profiles, tiers, strict=True))
    ]
    for i in range(0, size, 5000):
        await subscribe(subscriptions[i : i + 5000], NOW)
    print(f"  seeded {size:,} providers, {len(rows):,} coverage rows ({len(rows) / size:.1f} per provider)")


async def measure(size: int, spread: str, queries: int) -> list[float]:
    rng = random.Random(7)  # the same queries for every size
    categories = list(ServiceCategory)
    plan = []
    for _ in range(queries):
        in_metro = spread == "fixed-local" or rng.random() < 0.7
        lat, lng = metro_point(rng, 15) if in_metro else country_point(rng)
        category = rng.choice(categories) if rng.random() < 0.5 else None
        plan.append(SearchQuery(lat=lat, lng=lng, category=category))
    for query in plan[:20]:  # warm-up: caches, connection pool
        await search_service.search(query, None, 20, "", NOW)
    timings, matches = [], []
    for query in plan:
        started = time.perf_counter()
        page = await search_service.search(query, None, 20, "", NOW)
        timings.append((time.perf_counter() - started) * 1000)
        matches.append(page.total)
    print(f"  {spread} {size:,}: mean matches per query {statistics.mean(matches):.0f} (max {max(matches)})")
    return timings


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(sizes: list[int], queries: int) -> None:
    configure_logging("WARNING")
    tmp = Path(tempfile.mkdtemp(prefix="bench-search-"))
    port = free_port()
    engine = stack.engine(port, tmp / "mongo", tmp).start()
    client = connect(stack.mongodb_uri(port), 10_000)
    results: dict[tuple[str, int], list[float]] = {}
    try:
        for spread in ("proportional", "fixed-local"):
            for size in sizes:
                await init_models(client, f"search_{spread.replace('-', '_')}_{size}")
                started = time.perf_counter()
                await seed(size, spread)
                print(f"  seed time {time.perf_counter() - started:.0f} s")
                results[spread, size] = await measure(size, spread, queries)
    finally:
        await client.close()
        engine.stop()
    print(f"\nsearch latency, {queries} typical queries per size (first page of 20):")
    print(f"{'spread':>13} {'providers':>10} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for (spread, size), timings in results.items():
        p50, p95, p99 = pct(timings, 0.5), pct(timings, 0.95), pct(timings, 0.99)
        print(f"{spread:>13} {size:>10,} {p50:>8.1f} {p95:>8.1f} {p99:>8.1f}")
    if len(sizes) >= 2:
        small, large = min(sizes), max(sizes)
        for spread in ("proportional", "fixed-local"):
            ratio = pct(results[spread, large], 0.95) / pct(results[spread, small], 0.95)
            print(f"p95 ratio {large:,} / {small:,} ({spread}): {ratio:.2f} (goal ≤ 1.5)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(main(args.sizes, args.queries))
