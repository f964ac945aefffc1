"""The fairness report: exposure per tier against each tier's share of eligible providers, by hand."""

from datetime import timedelta

import httpx

from shared_models.clock import ManualClock
from shared_models.documents import SearchImpression
from shared_models.enums import Role
from tests.factories import API, make_admin, register
from tests.platform_api.search.geo import destination
from tests.platform_api.search.test_search import provider_at, search

ROME = (41.9028, 12.4964)


async def test_the_report_matches_a_hand_computed_case(api: httpx.AsyncClient, clock: ManualClock) -> None:
    admin = await make_admin(api, clock)
    await provider_at(api, *ROME, 10.0, tier="premium", categories=("cleaning", "painting"))
    await provider_at(api, *ROME, 10.0, tier="pro", categories=("cleaning", "painting"))
    await provider_at(api, *ROME, 10.0, tier="basic", categories=("cleaning",))
    point = destination(*ROME, 30, 1.0)

    clock.advance(timedelta(hours=-2))
    await search(api, *point)  # before the window: left out
    clock.advance(timedelta(hours=2))
    since = clock.now()
    await search(api, *point, limit=3)  # eligible 1/1/1, all three shown
    await search(api, *point, category="painting")  # eligible premium 1, pro 1: both shown
    clock.advance(timedelta(minutes=5))
    until = clock.now()
    clock.advance(timedelta(minutes=1))
    await search(api, *point)  # after the window: left out

    # By hand: shown premium 2, pro 2, basic 1 of 5; eligible premium 2, pro 2, basic 1 of 5.
    report = await api.get(
        f"{API}/admin/search/fairness",
        params={"since": since.isoformat(), "until": until.isoformat()},
        headers=admin.bearer,
    )
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["searches"] == 2
    tiers = {t["tier"]: t for t in body["tiers"]}
    assert {k: (v["impressions"], v["eligible"]) for k, v in tiers.items()} == {
        "premium": (2, 2),
        "pro": (2, 2),
        "basic": (1, 1),
        "unknown": (0, 0),
    }
    assert tiers["premium"]["exposure_share"] == 0.4 and tiers["basic"]["eligible_share"] == 0.2
    assert await SearchImpression.find_all().count() == 3 + 2 + 3 + 3  # every page records its impressions


async def test_the_report_is_for_admins_and_checks_its_range(
    api: httpx.AsyncClient, clock: ManualClock
) -> None:
    customer = await register(api, Role.customer)
    admin = await make_admin(api, clock)
    params = {"since": "2026-11-01T00:00:00Z", "until": "2026-11-02T00:00:00Z"}
    assert (
        await api.get(f"{API}/admin/search/fairness", params=params, headers=customer.bearer)
    ).status_code == 403
    backwards = {"since": params["until"], "until": params["since"]}
    bad = await api.get(f"{API}/admin/search/fairness", params=backwards, headers=admin.bearer)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "until"
