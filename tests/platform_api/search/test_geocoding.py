"""Geocoding: offline by place name with no key; Mapbox (a local fake of its API) when a token is set;
cached; unknown places and an unreachable Mapbox answer typed errors, never a 500."""

import sys
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from platform_api.config import Settings
from platform_api.main import create_app
from platform_api.search.coverage import haversine_km
from platform_api.search.geocoding import OfflineGeocoder
from scripts.processes import ManagedProcess, free_port, http_ok
from shared_models.clock import ManualClock
from tests.factories import API

TOKEN = "pk.test-suite-token"


@pytest.mark.parametrize(
    ("query", "near", "label"),
    [
        ("London", (51.507, -0.128), "London, United Kingdom"),
        ("london, gb", (51.507, -0.128), "London, United Kingdom"),
        ("London, Canada", (42.98, -81.23), "London, Canada"),
        ("zurich", (47.37, 8.54), "Zürich, Switzerland"),
        ("Austin, Texas", (30.27, -97.74), "Austin, United States"),
    ],
)
async def test_offline_places_by_name(query: str, near: tuple[float, float], label: str) -> None:
    place = await OfflineGeocoder().geocode(query)
    assert place is not None and haversine_km(place.lat, place.lng, *near) < 15, place
    assert place.label == label


async def test_offline_regions_resolve_to_their_centre_and_nonsense_to_nothing() -> None:
    texas = await OfflineGeocoder().geocode("Texas")
    assert texas is not None and 28 < texas.lat < 34 and -101 < texas.lng < -94
    assert await OfflineGeocoder().geocode("Qwxzyville") is None
    assert await OfflineGeocoder().geocode("Springfield, Narnia") is None


async def test_search_by_place_name_and_unknown_places(api: httpx.AsyncClient) -> None:
    ok = await api.get(f"{API}/search/providers", params={"q": "Manchester, GB"})
    assert ok.status_code == 200
    assert ok.json()["location"]["label"] == "Manchester, United Kingdom"
    unknown = await api.get(f"{API}/search/providers", params={"q": "Qwxzyville"})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["code"] == "unknown_location" and unknown.json()["error"]["field"] == "q"


@pytest.fixture(scope="module")
def mapbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    proc = ManagedProcess(
        name="mapbox-fake",
        argv=[sys.executable, "-m", "tests.fakes.mapbox", "--port", str(port), "--token", TOKEN],
        ready=lambda: http_ok(f"http://127.0.0.1:{port}/healthz"),
        log_path=Path(tmp_path_factory.mktemp("mapbox")) / "mapbox.log",
    ).start()
    yield f"http://127.0.0.1:{port}"
    proc.stop()


@pytest.fixture
async def mapbox_api(settings: Settings, clock: ManualClock, mapbox: str) -> AsyncIterator[httpx.AsyncClient]:
    configured = settings.model_copy(update={"mapbox_token": SecretStr(TOKEN), "mapbox_api_url": mapbox})
    app: FastAPI = create_app(configured, clock)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://t") as client,
    ):
        yield client


async def calls(mapbox: str) -> list[str]:
    async with httpx.AsyncClient() as client:
        found: list[str] = (await client.get(f"{mapbox}/_stats")).json()["calls"]
    return found


async def test_mapbox_when_configured_with_its_answers_cached(
    mapbox_api: httpx.AsyncClient, mapbox: str, clock: ManualClock
) -> None:
    before = len(await calls(mapbox))
    first = await mapbox_api.get(f"{API}/search/providers", params={"q": "Camden Market"})
    assert first.status_code == 200, first.text
    location = first.json()["location"]
    assert (location["lat"], location["lng"]) == (51.5415, -0.146)
    assert location["label"] == "Camden Market, London NW1 8AH, United Kingdom"
    again = await mapbox_api.get(f"{API}/search/providers", params={"q": "camden  market"})
    assert again.json()["location"] == location
    assert len(await calls(mapbox)) == before + 1  # the second answer came from the cache
    clock.advance(timedelta(days=8))  # past GEOCODE_CACHE_SECONDS: asked again
    await mapbox_api.get(f"{API}/search/providers", params={"q": "Camden Market"})
    assert len(await calls(mapbox)) == before + 2


async def test_mapbox_errors_are_typed(mapbox_api: httpx.AsyncClient) -> None:
    unknown = await mapbox_api.get(f"{API}/search/providers", params={"q": "Nowhere In Particular"})
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_location"
    down = await mapbox_api.get(f"{API}/search/providers", params={"q": "explode"})
    assert down.status_code == 503 and down.json()["error"]["code"] == "geocoder_unavailable"


async def test_mapbox_unreachable_is_a_503(settings: Settings, clock: ManualClock) -> None:
    dead = settings.model_copy(
        update={"mapbox_token": SecretStr(TOKEN), "mapbox_api_url": f"http://127.0.0.1:{free_port()}"}
    )
    app = create_app(dead, clock)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://t") as client,
    ):
        response = await client.get(f"{API}/search/providers", params={"q": "Gare du Nord"})
    assert response.status_code == 503 and response.json()["error"]["code"] == "geocoder_unavailable"
