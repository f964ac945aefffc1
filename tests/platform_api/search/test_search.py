"""Search on the real engine: exact boundaries (cell edges, high latitude, antimeridian), re-indexing,
subscription gating, filters, tier caps, pagination, typed errors, index-served plans."""

from typing import Any

import h3
import httpx
import pytest

from platform_api.search.coverage import cells_of, cover, haversine_km, resolution_for
from platform_api.search.service import SearchQuery, search_service
from scripts.stripe_fake.control import change_subscription
from shared_models.documents import ProviderCoverage
from shared_models.enums import Role, ServiceCategory
from tests.factories import API, Account, deliver, register, subscribe
from tests.plans import index_served
from tests.platform_api.billing.helpers import stored
from tests.platform_api.search.geo import destination

LONDON = (51.5072, -0.1276)


async def provider_at(
    api: httpx.AsyncClient,
    lat: float,
    lng: float,
    radius_km: float,
    tier: str | None = "basic",
    categories: tuple[str, ...] = ("cleaning",),
    **extra: Any,
) -> Account:
    provider = await register(
        api,
        Role.provider,
        provider={
            "business_name": f"Provider at {lat:.3f},{lng:.3f}",
            "categories": list(categories),
            "service_area": {"lat": lat, "lng": lng, "radius_km": radius_km},
            **extra,
        },
    )
    if tier is not None:
        await subscribe(api, provider, tier)
    return provider


async def search(api: httpx.AsyncClient, lat: float, lng: float, **params: Any) -> dict[str, Any]:
    response = await api.get(f"{API}/search/providers", params={"lat": lat, "lng": lng, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def found(api: httpx.AsyncClient, provider: Account, lat: float, lng: float) -> bool:
    body = await search(api, lat, lng, limit=50)
    return provider.body["provider"]["id"] in {hit["provider_id"] for hit in body["items"]}


async def test_inside_the_radius_is_found_and_just_outside_is_not(api: httpx.AsyncClient) -> None:
    provider = await provider_at(api, *LONDON, 10.0)
    for bearing in (0, 73, 180, 291):
        inside = destination(*LONDON, bearing, 9.995)
        outside = destination(*LONDON, bearing, 10.005)
        assert await found(api, provider, *inside), bearing
        assert not await found(api, provider, *outside), bearing
    hit = (await search(api, *destination(*LONDON, 45, 4.0)))["items"][0]
    assert hit["distance_km"] == pytest.approx(4.0, abs=1e-3) and hit["tier"] == "basic"


async def test_the_boundary_holds_at_an_h3_cell_edge(api: httpx.AsyncClient) -> None:
    # Make the radius end exactly at a vertex of a cell of the provider's resolution, then probe a metre
    # either side of it: points within metres of three cells' shared edges.
    centre = (48.8566, 2.3522)
    res = resolution_for(8.0)
    cell = h3.latlng_to_cell(*destination(*centre, 120, 8.0), res)
    vertex = min(h3.cell_to_boundary(cell), key=lambda v: abs(haversine_km(*centre, *v) - 8.0))
    radius = haversine_km(*centre, *vertex)
    provider = await provider_at(api, *centre, radius)
    bearing_out = _bearing(centre, vertex)
    assert await found(api, provider, *destination(*centre, bearing_out, radius - 0.001))
    assert not await found(api, provider, *destination(*centre, bearing_out, radius + 0.001))


def _bearing(a: tuple[float, float], b: tuple[float, float]) -> float:
    import math

    p1, p2 = math.radians(a[0]), math.radians(b[0])
    dl = math.radians(b[1] - a[1])
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(y, x)) % 360


async def test_high_latitude_and_across_the_antimeridian(api: httpx.AsyncClient) -> None:
    svalbard = await provider_at(api, 78.22, 15.65, 30.0, tier="pro")
    assert await found(api, svalbard, *destination(78.22, 15.65, 90, 29.99))
    assert not await found(api, svalbard, *destination(78.22, 15.65, 90, 30.01))
    fiji = await provider_at(api, -16.9, 179.95, 12.0)
    east = destination(-16.9, 179.95, 95, 11.99)
    assert east[1] < -179.8  # the other side of the antimeridian
    assert await found(api, fiji, *east)
    assert not await found(api, fiji, *destination(-16.9, 179.95, 95, 12.01))


async def test_changing_the_radius_reindexes(api: httpx.AsyncClient) -> None:
    provider = await provider_at(api, *LONDON, 5.0)
    far = destination(*LONDON, 200, 12.0)
    assert not await found(api, provider, *far)
    grown = await api.patch(
        f"{API}/providers/me",
        json={"service_area": {"lat": LONDON[0], "lng": LONDON[1], "radius_km": 14.0}},
        headers=provider.bearer,
    )
    assert grown.status_code == 200, grown.text
    assert await found(api, provider, *far)
    pid = provider.body["provider"]["id"]
    rows = await ProviderCoverage.find(ProviderCoverage.provider_id == pid).to_list()
    assert {r.area_version for r in rows} == {1} and len(rows) == len(cover(*LONDON, 14.0))  # old rows gone
    moved = await api.patch(
        f"{API}/providers/me",
        json={"service_area": {"lat": 53.48, "lng": -2.24, "radius_km": 10}},
        headers=provider.bearer,
    )
    assert moved.status_code == 200
    assert not await found(api, provider, *LONDON) and await found(api, provider, 53.48, -2.24)
    beyond = await api.patch(
        f"{API}/providers/me",
        json={"service_area": {"lat": 53.48, "lng": -2.24, "radius_km": 40}},
        headers=provider.bearer,
    )
    assert beyond.status_code == 422 and beyond.json()["error"]["code"] == "tier_limit"


async def test_unsubscribed_providers_never_appear_until_the_webhook_activates_them(
    api: httpx.AsyncClient, stripe_api: str
) -> None:
    point = destination(*LONDON, 10, 1.0)
    never = await provider_at(api, *LONDON, 8.0, tier=None)
    assert not await found(api, never, *point)
    await subscribe(api, never, "basic")
    assert await found(api, never, *point)
    view = await stored(never)
    assert view is not None
    for event in await change_subscription(stripe_api, view.stripe_subscription_id, "cancel"):
        await deliver(api, event)
    assert not await found(api, never, *point)


async def test_filters_and_the_tier_cap(api: httpx.AsyncClient) -> None:
    centre = (40.4168, -3.7038)  # Madrid: a place of its own for this test
    cheap = await provider_at(
        api, *centre, 10.0, categories=("plumbing",), price_from={"amount_minor": 3000, "currency": "EUR"}
    )
    dear = await provider_at(
        api,
        *centre,
        10.0,
        categories=("plumbing", "hvac"),
        price_from={"amount_minor": 9000, "currency": "EUR"},
    )
    wide = await provider_at(api, *centre, 60.0, tier="basic", categories=("hvac",))  # basic: 15 km max
    ids = {a.body["provider"]["id"]: name for a, name in ((cheap, "cheap"), (dear, "dear"), (wide, "wide"))}

    def names(body: dict[str, Any]) -> set[str]:
        return {ids[h["provider_id"]] for h in body["items"] if h["provider_id"] in ids}

    here = destination(*centre, 0, 2.0)
    assert names(await search(api, *here)) == {"cheap", "dear", "wide"}
    assert names(await search(api, *here, category="hvac")) == {"dear", "wide"}
    assert names(await search(api, *here, max_price=5000, currency="EUR")) == {"cheap"}
    assert names(await search(api, *here, max_price=5000, currency="GBP")) == set()
    assert names(await search(api, *here, min_rating=4)) == set()  # nobody rated yet
    assert names(await search(api, *destination(*centre, 0, 9.0), max_distance_km=5)) == set()
    assert names(await search(api, *destination(*centre, 0, 20.0))) == set()  # wide's 60 km, capped at 15


async def test_three_pages_return_every_match_once_in_the_one_page_order(api: httpx.AsyncClient) -> None:
    centre = (45.4642, 9.19)  # Milan
    tiers = ["premium"] * 3 + ["pro"] * 5 + ["basic"] * 9
    for i, tier in enumerate(tiers):
        await provider_at(api, *destination(*centre, i * 20, 0.3 * i), 12.0, tier=tier)
    whole = await search(api, *centre, limit=50)
    assert whole["total"] == len(tiers) and whole["next_cursor"] is None
    pages, cursor = [], None
    for _ in range(3):
        params: dict[str, Any] = {"limit": 6, **({"cursor": cursor} if cursor else {})}
        body = await search(api, *centre, **params)
        pages.append(body["items"])
        cursor = body["next_cursor"]
    assert cursor is None
    paged = [h["provider_id"] for p in pages for h in p]
    assert paged == [h["provider_id"] for h in whole["items"]]
    assert [h["position"] for p in pages for h in p] == list(range(1, len(tiers) + 1))
    assert {h["tier"] for h in pages[0]} == {"premium", "pro", "basic"}  # every tier on the first page

    other = await api.get(
        f"{API}/search/providers",
        params={"lat": 45.0, "lng": 9.0, "cursor": whole["items"] and body["items"] and "x"},
    )
    assert other.status_code == 422 and other.json()["error"]["code"] == "invalid_cursor"


async def test_bad_queries_get_typed_422s(api: httpx.AsyncClient) -> None:
    for params, field in (
        ({}, "q"),
        ({"lat": 51.5}, "lng"),
        ({"lat": 91, "lng": 0}, "lat"),
        ({"lat": 51.5, "lng": 0, "max_price": 100}, "currency"),
        ({"lat": 51.5, "lng": 0, "category": "astrology"}, "category"),
    ):
        response = await api.get(f"{API}/search/providers", params=params)
        assert response.status_code == 422, params
        assert response.json()["error"]["field"] == field, (params, response.json())


async def test_the_cell_lookup_is_index_served(api: httpx.AsyncClient) -> None:
    for cell in cells_of(*LONDON):
        plan = await ProviderCoverage.get_pymongo_collection().find({"cell": cell}).explain()
        assert index_served(plan), plan
    plan = (
        await ProviderCoverage.get_pymongo_collection()
        .find({"provider_id": "a" * 24, "area_version": {"$lt": 3}})
        .explain()
    )
    assert index_served(plan), plan


async def test_the_whole_plans_lookup_is_index_served(api: httpx.AsyncClient) -> None:
    query = SearchQuery(*LONDON, category=ServiceCategory.cleaning, max_price=5000, currency="GBP")
    for cell in cells_of(*LONDON):
        plan = (
            await ProviderCoverage.get_pymongo_collection().find(search_service.lookup(query, cell)).explain()
        )
        assert index_served(plan), plan


async def test_a_partial_edit_never_stores_an_invalid_profile(api: httpx.AsyncClient) -> None:
    """Found by schemathesis: explicit nulls once replaced required fields and broke every later read."""
    provider = await provider_at(api, *LONDON, 5.0)
    body = {
        "price_from": {"amount_minor": 4500, "currency": "GBP"},
        "business_name": None,
        "categories": None,
    }
    refused = await api.patch(f"{API}/providers/me", json=body, headers=provider.bearer)
    assert refused.status_code == 422 and refused.json()["error"]["field"] in ("business_name", "categories")
    removed = await api.patch(f"{API}/providers/me", json={"price_from": None}, headers=provider.bearer)
    assert removed.status_code == 200 and removed.json()["price_from"] is None
    mine = await api.get(f"{API}/providers/me", headers=provider.bearer)
    assert mine.status_code == 200 and mine.json()["categories"] == ["cleaning"]


def _cursor(raw: str) -> str:
    import base64

    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


HOSTILE_CURSORS = [
    _cursor('{"o":1e309}'),  # infinity once decoded: an OverflowError, which was a plain-text 500
    _cursor('{"o":1e309,"d":"2026-01-01","q":"x"}'),
    _cursor('{"o":NaN,"d":"2026-01-01","q":"x"}'),
    _cursor('{"o":true,"d":"2026-01-01","q":"x"}'),
    _cursor('{"o":"5","d":"2026-01-01","q":"x"}'),
    _cursor('{"o":1.5,"d":"2026-01-01","q":"x"}'),
    _cursor('{"o":-1,"d":"2026-01-01","q":"x"}'),
    _cursor('{"o":1,"d":20260101,"q":"x"}'),
    _cursor('{"o":1,"d":"2026-13-01","q":"x"}'),
    _cursor('{"o":1,"d":"2026-01-01","q":["x"]}'),
    _cursor('{"o":' + "9" * 5000 + ',"d":"2026-01-01","q":"x"}'),
    _cursor("[" * 140),
    _cursor("[]"),
    _cursor('"text"'),
    "%%%",
]


async def test_hostile_cursors_get_the_typed_422(api: httpx.AsyncClient) -> None:
    for cursor in HOSTILE_CURSORS:
        answer = await api.get(
            f"{API}/search/providers", params={"lat": 51.5, "lng": -0.12, "cursor": cursor}
        )
        assert answer.status_code == 422, (cursor[:40], answer.text[:200])
        assert answer.json()["error"]["code"] in ("invalid_cursor", "validation_error"), cursor[:40]
