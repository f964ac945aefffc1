"""The standing search reads from the coverage rows: a projection of the subscription that the webhook
carries over after every write it makes, that never goes back under concurrent deliveries or a listing
rebuild racing them, that the daily drift check repairs, and that `scripts.migrate` fills in for rows
written before it existed; and the rows' own consistency (one listing, counted once)."""

import asyncio
import math
import os
import subprocess
import sys
from datetime import timedelta
from typing import Any

import httpx
from structlog.testing import capture_logs

from platform_api.config import Settings
from platform_api.entitlements.subscriptions import standing
from platform_api.providers.service import provider_service, standing_fields
from platform_api.scheduler import JobRunner
from platform_api.search.service import SearchQuery, search_service
from scripts.stripe_fake.control import change_subscription
from shared_models.clock import ManualClock
from shared_models.documents import ProviderCoverage, ServiceArea
from shared_models.enums import Role
from tests.conftest import Engine, service_env
from tests.factories import API, Account, deliver, register, subscribe
from tests.platform_api.billing.helpers import stored

STANDING = ("tier", "stratum", "standing_version", "cos_reach", "south", "north", "west", "east")


async def rows_of(provider: Account) -> list[dict[str, Any]]:
    pid = provider.body["provider"]["id"]
    rows: list[dict[str, Any]] = (
        await ProviderCoverage.get_pymongo_collection().find({"provider_id": pid}).to_list(None)
    )
    return rows


async def projected(provider: Account) -> bool:
    """Every row of the provider carries its subscription's standing as stored now."""
    pid = provider.body["provider"]["id"]
    area = provider.body["provider"]["service_area"]
    expected = standing_fields(ServiceArea(**area), await standing(pid))
    rows = await rows_of(provider)
    return bool(rows) and all(same(r.get(k), v) for r in rows for k, v in expected.items())


def same(stored: Any, value: Any) -> bool:
    # The embedded engine keeps 15 significant digits of a float (MongoDB all 17).
    if isinstance(value, float) and isinstance(stored, float):
        return math.isclose(stored, value, rel_tol=1e-13)
    return bool(stored == value)


async def tier_on_rows(provider: Account) -> set[str | None]:
    return {r["tier"] for r in await rows_of(provider)}


async def test_every_subscription_change_reaches_the_rows(api: httpx.AsyncClient, stripe_api: str) -> None:
    provider = await register(api, Role.provider)
    assert await tier_on_rows(provider) == {None}  # listed rows, but no standing: never shown
    await subscribe(api, provider, "basic")
    assert await tier_on_rows(provider) == {"basic"} and await projected(provider)
    view = await stored(provider)
    assert view is not None
    for event in await change_subscription(
        stripe_api, view.stripe_subscription_id, "update", price="price_premium_monthly"
    ):
        await deliver(api, event)
    assert await tier_on_rows(provider) == {"premium"} and await projected(provider)
    for event in await change_subscription(stripe_api, view.stripe_subscription_id, "payment_failed"):
        await deliver(api, event)
    assert await tier_on_rows(provider) == {"premium"}  # past_due is still good standing
    for event in await change_subscription(stripe_api, view.stripe_subscription_id, "cancel"):
        await deliver(api, event)
    assert await tier_on_rows(provider) == {None} and await projected(provider)


async def test_concurrent_deliveries_projections_and_a_rebuild_end_in_the_newest_standing(
    api: httpx.AsyncClient, stripe_api: str
) -> None:
    provider = await register(api, Role.provider)
    await subscribe(api, provider, "basic")
    pid = provider.body["provider"]["id"]
    view = await stored(provider)
    assert view is not None
    events = []
    for price in ("price_pro_monthly", "price_premium_monthly", "price_basic_monthly", "price_pro_monthly"):
        events += await change_subscription(stripe_api, view.stripe_subscription_id, "update", price=price)
    edit = {"service_area": {"lat": 51.5072, "lng": -0.1276, "radius_km": 12}}
    results = await asyncio.gather(
        *(deliver(api, e) for e in [*events[::-1], *events]),
        *(provider_service.project_standing(pid) for _ in range(6)),
        api.patch(f"{API}/providers/me", json=edit, headers=provider.bearer),
    )
    assert all(getattr(r, "status_code", 200) == 200 for r in results)
    provider.body["provider"]["service_area"] = edit["service_area"]
    assert await tier_on_rows(provider) == {"pro"} and await projected(provider)
    assert {r["area_version"] for r in await rows_of(provider)} == {1}  # the rebuild's rows only


async def test_the_drift_check_repairs_a_standing_the_rows_lost(
    api: httpx.AsyncClient, settings: Settings, clock: ManualClock
) -> None:
    provider = await register(api, Role.provider)
    await subscribe(api, provider, "basic")
    pid = provider.body["provider"]["id"]
    # Rows that say premium while the subscription is basic (a write the projection did not make).
    await ProviderCoverage.get_pymongo_collection().update_many(
        {"provider_id": pid}, {"$set": {"tier": "premium", "stratum": "premium"}}
    )
    runner = JobRunner(settings, clock)
    with capture_logs() as logs:
        assert await runner.run("billing.check_drift") == 1
    drift = [entry for entry in logs if entry["event"] == "search.standing_drift"]
    assert [(d["provider_id"], d["stored"], d["expected"]) for d in drift] == [(pid, "premium", "basic")]
    assert await tier_on_rows(provider) == {"basic"} and await projected(provider)
    assert await runner.run("billing.check_drift") == 0


async def test_migrate_gives_rows_written_before_the_projection_their_standing(
    api: httpx.AsyncClient, engine: Engine, db_name: str, clock: ManualClock
) -> None:
    provider = await register(api, Role.provider)
    await subscribe(api, provider, "pro")
    pid = provider.body["provider"]["id"]
    await ProviderCoverage.get_pymongo_collection().update_many(
        {"provider_id": pid}, {"$unset": dict.fromkeys(STANDING, "")}
    )
    assert all("tier" not in r for r in await rows_of(provider))
    assert "listings marked for a rebuild with their standing: 1" in await run_migrate(engine, db_name)
    assert await rows_of(provider) == []  # out of search until the sweeper rebuilds the listing
    assert await provider_service.reindex_stale(clock.now()) >= 1
    assert await tier_on_rows(provider) == {"pro"} and await projected(provider)
    assert "listings marked for a rebuild with their standing: 0" in await run_migrate(engine, db_name)


async def run_migrate(engine: Engine, db_name: str) -> str:
    """`python -m scripts.migrate`, as a release runs it (its own process and client)."""
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "scripts.migrate"],
        env={**os.environ, **service_env(engine.uri, db_name)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_the_drift_check_repairs_rows_ahead_of_the_subscription_and_rows_never_subscribed(
    api: httpx.AsyncClient, settings: Settings, clock: ManualClock
) -> None:
    """Found by review: rows claiming a newer version than the subscription's were reported and never
    repaired; rows of a provider that never subscribed were never looked at."""
    ahead = await register(api, Role.provider)
    await subscribe(api, ahead, "basic")
    never = await register(api, Role.provider)
    box = {"south": -90.0, "north": 90.0, "west": -180.0, "east": 180.0}
    collection = ProviderCoverage.get_pymongo_collection()
    await collection.update_many(
        {"provider_id": ahead.body["provider"]["id"]},
        {"$set": {"tier": "premium", "stratum": "premium", "standing_version": 999}},
    )
    await collection.update_many(
        {"provider_id": never.body["provider"]["id"]},
        {"$set": {"tier": "premium", "stratum": "premium", **box}},
    )
    runner = JobRunner(settings, clock)
    assert await runner.run("billing.check_drift") == 2
    assert await tier_on_rows(ahead) == {"basic"} and await projected(ahead)
    assert await tier_on_rows(never) == {None} and await projected(never)
    assert await runner.run("billing.check_drift") == 0


async def test_a_rebuild_finished_by_the_sweeper_lists_the_provider_once(
    api: httpx.AsyncClient, clock: ManualClock
) -> None:
    """Found by review: a rebuild that crashed after writing its rows (flag not cleared) was written again by
    the sweeper, so the provider was counted twice and the page plan's cursor stopped moving."""
    centre = (59.33, 18.07)
    provider = await register(
        api,
        Role.provider,
        provider={
            "business_name": "Crashed rebuild",
            "categories": ["cleaning"],
            "service_area": {"lat": centre[0], "lng": centre[1], "radius_km": 10},
        },
    )
    await subscribe(api, provider, "basic")
    before = len(await rows_of(provider))
    profile = await provider_service.get(provider.body["provider"]["id"])
    assert profile is not None
    profile.index_pending_since = clock.now() - timedelta(hours=1)
    await profile.replace()  # the state a crash between writing the rows and clearing the flag leaves
    assert await provider_service.reindex_stale(clock.now()) >= 1
    assert len(await rows_of(provider)) == before
    query = SearchQuery(*centre)
    for plan in (search_service.search_page, search_service.search_whole):
        first = await plan(query, None, 1, "", clock.now())
        assert (first.total, first.next_cursor) == (1, None), plan


async def test_a_price_cap_beyond_any_price_answers_like_no_cap(api: httpx.AsyncClient) -> None:
    """Found by review: a cap past a BSON integer was a 500 once it reached the engine."""
    for cap in (2**63, 10**20, 2**63 - 1):
        answer = await api.get(
            f"{API}/search/providers", params={"lat": 51.5, "lng": -0.12, "max_price": cap, "currency": "GBP"}
        )
        assert answer.status_code == 200, (cap, answer.text)
