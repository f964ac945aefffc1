"""The page plan against the whole ranking, on the real engine: for the same coverage rows, every page
`search` returns (from per-cell counts and the rows it reads) is the page the pre-issue-18 full ranking
(`oracle.rank`, verbatim) gives over every match — across filters, pages of every size, dense ties,
ratings that push providers far down, every resolution band, the antimeridian and near the poles."""

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from bson import ObjectId

from platform_api.entitlements.subscriptions import Standing
from platform_api.providers.service import coverage_rows
from platform_api.search import service
from platform_api.search.service import ResultPage, SearchQuery, search_service
from shared_models.documents import Money, ProviderCoverage, ProviderProfile, ServiceArea
from shared_models.enums import ServiceCategory, SubscriptionTier
from tests.platform_api.search import oracle
from tests.platform_api.search.geo import destination

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
TIERS = [
    SubscriptionTier.premium,
    SubscriptionTier.pro,
    SubscriptionTier.basic,
    SubscriptionTier.unknown,
    None,
]
CATEGORIES = list(ServiceCategory)[:4]
CENTRES = [(51.5072, -0.1276), (-16.9, 179.97), (78.22, 15.65), (-54.8, -68.3), (0.0, 0.0), (35.68, 139.69)]


def provider(
    rng: random.Random, centre: tuple[float, float], spots: list[tuple[float, float]], dense: bool
) -> ProviderProfile:
    where = (
        rng.choice(spots)
        if spots and rng.random() < 0.5
        else destination(*centre, rng.uniform(0, 360), rng.uniform(0, 14 if dense else 25))
    )
    radius = (
        rng.uniform(14.6, 15)
        if dense
        else rng.choice([rng.uniform(0.3, 2), rng.uniform(2, 15), rng.uniform(15, 60), rng.uniform(60, 120)])
    )
    rated = rng.choice([0, 0, rng.randint(1, 5), rng.randint(5, 60)])
    low = rng.random() < 0.2  # a poor rating: pushed up to 6 km down the ranking
    return ProviderProfile(
        id=ObjectId(),
        owner_id=str(ObjectId()),
        business_name="Oracle case",
        slug=f"oracle-{ObjectId()}",
        categories=rng.sample(CATEGORIES, rng.randint(1, 3)),
        service_area=ServiceArea(lat=where[0], lng=where[1], radius_km=radius),
        price_from=rng.choice(
            [None, Money(amount_minor=rng.randrange(1000, 9000, 500), currency=rng.choice(["GBP", "EUR"]))]
        ),
        rating_count=rated,
        rating_sum=sum(rng.randint(1, 2) if low else rng.randint(3, 5) for _ in range(rated)),
        created_at=NOW,
        updated_at=NOW,
    )


def a_query(rng: random.Random, centre: tuple[float, float], dense: bool) -> SearchQuery:
    lat, lng = destination(*centre, rng.uniform(0, 360), rng.uniform(0, 0.5 if dense else 3))
    if dense:  # every provider serves the point: the pages come from long strata
        return SearchQuery(lat=lat, lng=lng)
    price = rng.random() < 0.2
    return SearchQuery(
        lat=lat,
        lng=lng,
        category=rng.choice(CATEGORIES) if rng.random() < 0.3 else None,
        min_rating=rng.choice([3, 3.5, 4.5]) if rng.random() < 0.2 else None,
        max_price=rng.randrange(2000, 9000, 500) if price else None,
        currency=rng.choice(["GBP", "EUR"]) if price else None,
        max_distance_km=rng.uniform(1, 30) if rng.random() < 0.2 else None,
    )


async def expected_pages(query: SearchQuery, limits: list[int], salt: str) -> list[list[str]]:
    found = await search_service.matches(query)
    ranked = [c.provider_id for c in oracle.rank((m.candidate for m in found), salt)]
    pages, offset = [], 0
    for limit in limits:
        pages.append(ranked[offset : offset + limit])
        offset += limit
        if offset >= len(ranked):
            break
    return pages


async def actual_pages(query: SearchQuery, limits: list[int], day: datetime) -> tuple[list[list[str]], int]:
    pages: list[list[str]] = []
    cursor, total = None, 0
    for limit in limits:
        page: ResultPage = await search_service.search_page(query, cursor, limit, "s3cret", day)
        pages.append([m.candidate.provider_id for m in page.matches])
        assert [m.candidate.distance_km for m in page.matches] == [
            m.candidate.distance_km for m in page.matches
        ]
        total, cursor = page.total, page.next_cursor
        if cursor is None:
            break
    return pages, total


# Cases 0-11 are mixed, 12-15 dense. Split so the suite's workers share them; with the first threshold forced
# too low, two dense cases are enough to read long strata in many rounds (each costs 6,000 coverage rows).
CASES = {
    ("estimated", "mixed"): range(12),
    ("estimated", "dense"): range(12, 16),
    ("too low", "mixed"): range(12),
    ("too low", "dense"): range(12, 14),
}


@pytest.mark.parametrize(("first_threshold", "kind"), list(CASES))
async def test_every_page_is_the_whole_rankings_page(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, first_threshold: str, kind: str
) -> None:
    """12 mixed cases (every band, filters, few matches) and 4 dense ones (300 providers all serving the
    point, ties at a few spots, poor ratings: long strata). With the first threshold forced too low, every
    stratum is read in several rounds, so the page rests on the proof that the rows read settle it."""
    if first_threshold == "too low":
        monkeypatch.setattr(service, "_first_target", lambda needed, stratum, cells: 0.2)
    for case in CASES[first_threshold, kind]:
        rng = random.Random(case)
        dense = case >= 12
        centre = CENTRES[case % len(CENTRES)]
        spots = [
            destination(*centre, rng.uniform(0, 360), rng.uniform(0, 5)) for _ in range(rng.randint(0, 3))
        ]
        profiles = [
            provider(rng, centre, spots, dense) for _ in range(300 if dense else rng.choice([5, 40, 90]))
        ]
        rows: list[dict[str, Any]] = []
        for n, profile in enumerate(profiles):
            tier = rng.choice(TIERS)
            rows += coverage_rows(profile, Standing(tier, n + 1 if tier else rng.choice([0, n + 1])))
        collection = ProviderCoverage.get_pymongo_collection()
        await collection.insert_many(rows)
        try:
            for _ in range(2):
                query = a_query(rng, centre, dense)
                limits = [rng.choice([1, 3, 7, 20, 50]) for _ in range(8)]
                day = NOW + timedelta(days=rng.randint(0, 3))
                expected = await expected_pages(query, limits, f"{day.date().isoformat()}|s3cret")
                pages, total = await actual_pages(query, limits, day)
                assert pages == expected, (case, query)
                whole = [m.candidate.provider_id for m in (await search_service.matches(query))]
                assert total == len(whole), (case, query)
        finally:
            await collection.delete_many({"provider_id": {"$in": [str(p.id) for p in profiles]}})
