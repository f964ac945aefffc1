"""Search benchmark on a real engine process: typical queries against 10k and 100k providers.

    .venv/bin/python -m bench.search [--sizes 10000 100000] [--queries 300]

Two spreads of providers over a metro area (London) and a country (Great Britain), three tiers and 5 %
cancelled subscriptions, each size in its own database:

- proportional: 30 % in the metro, 70 % over the country — ten times the providers means ten times the
  providers serving any point, so every query has ~10x the matches;
- fixed-local: the metro holds 3,000 providers at every size and the rest are spread over the country
  away from it — metro queries find the same matches at every size, so only the collection grows.

Seeding is what production does, in bulk: profiles, then the subscriptions through the billing webhook's
bulk import, then each listing's coverage rows built with its standing, streamed in chunks of
`CHUNK` providers (the next chunk is built in a thread while the engine writes the last one).

Queries are typical app searches: a point in the metro (and, proportional, 30 % in the country), a
category filter half the time, the first page of 20 — through the search service, without HTTP, by each
plan (`--plans`): `whole` (every match read, prefiltered by the engine, and ranked) and `page` (engine-side
counts, then only the page's rows). Prints per plan, size and spread: p50/p95/p99 latency, and per query
the mean matches, engine round trips, rows read (documents the engine returned) and the time spent in
engine commands (summed; concurrent commands overlap), counted by a pymongo command listener; then the p95
ratios beside their goals. Asserts nothing about speed. The scratch engine and its folder are removed at
the end, also on Ctrl-C and SIGTERM.
"""

import argparse
import asyncio
import math
import random
import statistics
import time
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from pymongo import monitoring

from bench.fixtures import stripe_subscription, subscribe
from bench.scratch import interruptible, scratch
from platform_api.billing.webhook import StripeState
from platform_api.config import Settings
from platform_api.entitlements.subscriptions import Standing
from platform_api.providers.service import coverage_rows
from platform_api.search.coverage import haversine_km
from platform_api.search.service import SearchQuery, search_service
from scripts import stack
from scripts.processes import free_port
from shared_models import store
from shared_models.documents import Money, ProviderCoverage, ProviderProfile, ServiceArea
from shared_models.documents.billing import ENTITLED_STATUSES
from shared_models.enums import ServiceCategory
from shared_models.runtime.logs import configure_logging
from shared_models.runtime.registry import connect, init_models

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
METRO = (51.5072, -0.1276)
COUNTRY = ((50.3, 55.8), (-4.5, 1.3))  # lat and lng ranges of (roughly) Great Britain's south and middle
PRICES = {"basic": "price_basic_monthly", "pro": "price_pro_monthly", "premium": "price_premium_monthly"}
CHUNK = 2_000
# pymongo's default server selection timeout; registry.connect gives each command five times that.
SELECTION_TIMEOUT_MS = 30_000
FIXED_METRO = 3_000
GOALS = {"proportional": 2.0, "fixed-local": 1.5}


class Reads(monitoring.CommandListener):
    """Counts the commands sent (engine round trips) and the documents the engine returned (rows read)."""

    def __init__(self) -> None:
        self.commands = 0
        self.rows = 0
        self.engine_ms = 0.0  # summed command durations (send to reply decoded): concurrent ones overlap

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.commands += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self.engine_ms += event.duration_micros / 1000
        cursor = event.reply.get("cursor") if isinstance(event.reply, dict) else None
        if cursor:
            self.rows += len(cursor.get("firstBatch") or cursor.get("nextBatch") or [])

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def metro_point(rng: random.Random, radius_km: float) -> tuple[float, float]:
    r, theta = radius_km * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
    lat = METRO[0] + (r * math.cos(theta)) / 111.0
    lng = METRO[1] + (r * math.sin(theta)) / (111.0 * math.cos(math.radians(METRO[0])))
    return lat, lng


def country_point(rng: random.Random) -> tuple[float, float]:
    return rng.uniform(*COUNTRY[0]), rng.uniform(*COUNTRY[1])


def far_from_metro(rng: random.Random) -> tuple[float, float]:
    """A country point whose provider (radius ≤ 40 km) cannot reach a metro query (≤ 15 km from centre)."""
    while True:
        lat, lng = country_point(rng)
        if haversine_km(lat, lng, *METRO) > 90:
            return lat, lng


def build(rng: random.Random, first: int, count: int, spread: str, settings: Settings) -> dict[str, Any]:
    """One chunk of providers: profile documents, Stripe subscription objects and coverage rows."""
    categories = list(ServiceCategory)
    profiles, subscriptions, rows = [], [], []
    for n in range(first, first + count):
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
            rating_count=(rated := rng.randint(0, 40)),
            rating_sum=sum(rng.randint(3, 5) for _ in range(rated)),
            created_at=NOW,
            updated_at=NOW,
        )
        tier = rng.choices(list(PRICES), weights=[55, 30, 15])[0]
        status = "active" if rng.random() > 0.05 else "canceled"
        subscription = stripe_subscription(n, PRICES[tier], NOW, status)
        # The standing the import below records (version 1), as the listing rebuild would read it.
        state = StripeState.of(subscription, settings)
        standing = Standing(state.tier if state.status in ENTITLED_STATUSES else None, 1)
        profiles.append(profile)
        subscriptions.append((profile, subscription))
        rows += coverage_rows(profile, standing)
    return {
        "profiles": [p.model_dump(by_alias=True, exclude={"revision_id"}) for p in profiles],
        "subscriptions": subscriptions,
        "rows": rows,
    }


async def write(chunk: dict[str, Any]) -> None:
    await store.insert_new(ProviderProfile, chunk["profiles"])  # one unordered insert_many, as production
    await subscribe(chunk["subscriptions"], NOW)
    await store.insert_new(ProviderCoverage, chunk["rows"])


async def seed(size: int, spread: str) -> None:
    rng, settings = random.Random(size), Settings()
    started, rows = time.perf_counter(), 0
    chunk = build(rng, 0, min(CHUNK, size), spread, settings)
    for first in range(0, size, CHUNK):
        upcoming = min(CHUNK, size - first - CHUNK)
        following = (
            asyncio.to_thread(build, rng, first + CHUNK, upcoming, spread, settings) if upcoming > 0 else None
        )
        rows += len(chunk["rows"])
        if following is None:
            await write(chunk)
        else:
            _, chunk = await asyncio.gather(write(chunk), following)
    took = time.perf_counter() - started
    print(
        f"  seeded {size:,} providers, {rows:,} coverage rows ({rows / size:.1f} per provider)"
        f" in {took:.0f} s ({took / size * 1000:.2f} ms per provider)",
        flush=True,
    )


def typical_queries(spread: str, queries: int) -> list[SearchQuery]:
    rng = random.Random(7)  # the same queries for every size
    categories = list(ServiceCategory)
    found = []
    for _ in range(queries):
        in_metro = spread == "fixed-local" or rng.random() < 0.7
        lat, lng = metro_point(rng, 15) if in_metro else country_point(rng)
        category = rng.choice(categories) if rng.random() < 0.5 else None
        found.append(SearchQuery(lat=lat, lng=lng, category=category))
    return found


PLANS = {"page": search_service.search_page, "whole": search_service.search_whole}


async def measure(spread: str, queries: int, reads: Reads, plan: str) -> dict[str, Any]:
    """One plan over the typical queries: `whole` (the API's default: every match ranked) or `page`."""
    search = PLANS[plan]
    typical = typical_queries(spread, queries)
    for query in typical[:20]:  # warm-up: caches, connection pool
        await search(query, None, 20, "", NOW)
    timings, matches, trips, rows, engine = [], [], [], [], []
    for query in typical:
        commands, read, busy = reads.commands, reads.rows, reads.engine_ms
        started = time.perf_counter()
        page = await search(query, None, 20, "", NOW)
        timings.append((time.perf_counter() - started) * 1000)
        matches.append(page.total)
        trips.append(reads.commands - commands)
        rows.append(reads.rows - read)
        engine.append(reads.engine_ms - busy)
    return {
        "timings": timings,
        "matches": statistics.mean(matches),
        "max_matches": max(matches),
        "trips": statistics.mean(trips),
        "rows": statistics.mean(rows),
        "max_rows": max(rows),
        "engine_ms": statistics.mean(engine),
    }


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(sizes: list[int], queries: int, plans: list[str], spreads: list[str]) -> None:
    configure_logging("WARNING")
    results: dict[tuple[str, str, int], dict[str, Any]] = {}
    with scratch("bench-search-") as (tmp, procs):
        port = free_port()
        procs.append(stack.engine(port, tmp / "mongo", tmp).start())
        reads = Reads()
        client = connect(stack.mongodb_uri(port), SELECTION_TIMEOUT_MS, listeners=[reads])
        try:
            for spread in spreads:
                for size in sizes:
                    name = f"search_{spread.replace('-', '_')}_{size}"
                    await init_models(client, name)
                    await seed(size, spread)
                    for plan in plans:
                        results[plan, spread, size] = found = await measure(spread, queries, reads, plan)
                        print(
                            f"  {plan} {spread} {size:,}: p50 {pct(found['timings'], 0.5):.1f} ms,"
                            f" p95 {pct(found['timings'], 0.95):.1f} ms; per query {found['matches']:.0f}"
                            f" matches (max {found['max_matches']}), {found['trips']:.1f} round trips,"
                            f" {found['rows']:.1f} rows read (max {found['max_rows']}),"
                            f" {found['engine_ms']:.1f} ms in engine commands (summed)",
                            flush=True,
                        )
                    await client.drop_database(name)
        finally:
            await client.close()
    print(f"\nsearch, {queries} typical queries per size (first page of 20); per query: means")
    print(
        f"{'plan':>5} {'spread':>13} {'providers':>10} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
        f" {'matches':>8} {'trips':>6} {'rows':>6}"
    )
    for (plan, spread, size), found in results.items():
        timings = found["timings"]
        print(
            f"{plan:>5} {spread:>13} {size:>10,} {pct(timings, 0.5):>8.1f} {pct(timings, 0.95):>8.1f}"
            f" {pct(timings, 0.99):>8.1f} {found['matches']:>8.0f} {found['trips']:>6.1f} {found['rows']:>6.1f}"
        )
    if len(sizes) >= 2:
        small, large = min(sizes), max(sizes)
        for plan in plans:
            for spread in spreads:
                goal = GOALS[spread]
                p95 = {size: pct(results[plan, spread, size]["timings"], 0.95) for size in (small, large)}
                ratio = p95[large] / p95[small]
                print(f"{plan}: p95 ratio {large:,} / {small:,} ({spread}): {ratio:.2f} (goal ≤ {goal})")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--plans", nargs="+", choices=list(PLANS), default=list(PLANS))
    parser.add_argument("--spreads", nargs="+", choices=list(GOALS), default=list(GOALS))
    args = parser.parse_args()
    interruptible(lambda: asyncio.run(run(args.sizes, args.queries, args.plans, args.spreads)))


if __name__ == "__main__":
    main()
