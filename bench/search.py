"""Search benchmark on a real engine process: typical queries against 10k and 100k providers.

    .venv/bin/python -m bench.search [--sizes 10000 100000] [--queries 300]

Providers are spread over a metro area (London, 30 %) and a country (Great Britain, 70 %), with radii of
2-15 km in the metro and 5-40 km elsewhere, three tiers and 5 % cancelled subscriptions. Each size gets its
own database. Queries are typical app searches: a point in the metro (70 %) or the country, a category
filter half the time, the first page of 20 — through the search service (candidates, joins, ranking,
impressions), without HTTP. Prints p50/p95 per size and the p95 ratio; asserts nothing about speed.
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
from platform_api.search.coverage import cover
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


async def seed(size: int) -> None:
    rng = random.Random(size)
    categories = list(ServiceCategory)
    profiles: list[ProviderProfile] = []
    rows: list[dict[str, object]] = []
    for n in range(size):
        in_metro = rng.random() < 0.3
        lat, lng = metro_point(rng, 30) if in_metro else country_point(rng)
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
        rows += [
            ProviderCoverage(
                cell=c, provider_id=str(profile.id), owner_id=profile.owner_id, area_version=0
            ).model_dump(by_alias=True, exclude={"id", "revision_id"})
            for c in cover(lat, lng, radius)
        ]
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


async def measure(size: int, queries: int) -> list[float]:
    rng = random.Random(7)  # the same queries for every size
    categories = list(ServiceCategory)
    plan = []
    for _ in range(queries):
        lat, lng = metro_point(rng, 20) if rng.random() < 0.7 else country_point(rng)
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
    print(f"  {size:,}: mean matches per query {statistics.mean(matches):.0f} (max {max(matches)})")
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
    results: dict[int, list[float]] = {}
    try:
        for size in sizes:
            await init_models(client, f"search_{size}")
            started = time.perf_counter()
            await seed(size)
            print(f"  seed time {time.perf_counter() - started:.0f} s")
            results[size] = await measure(size, queries)
    finally:
        await client.close()
        engine.stop()
    print(f"\nsearch latency, {queries} typical queries per size (first page of 20):")
    print(f"{'providers':>10} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for size, timings in results.items():
        print(f"{size:>10,} {pct(timings, 0.5):>8.1f} {pct(timings, 0.95):>8.1f} {pct(timings, 0.99):>8.1f}")
    if len(results) >= 2:
        small, large = min(results), max(results)
        ratio = pct(results[large], 0.95) / pct(results[small], 0.95)
        print(f"p95 ratio {large:,} / {small:,}: {ratio:.2f} (goal ≤ 1.5)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(main(args.sizes, args.queries))
