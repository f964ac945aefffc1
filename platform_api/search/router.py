"""Search routes: providers who serve a location, by coordinates or by place name."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from platform_api.deps import ClockDep, LimitsDep, SettingsDep, get_auth_session, get_geocoder
from platform_api.entitlements.tiers import ENTITLEMENTS
from platform_api.errors import (
    AppError,
    RateLimited,
    ValidationFailed,
    errors,
)
from platform_api.ratelimits import client_ip
from platform_api.search.errors import GeocoderUnavailable, InvalidCursor, UnknownLocation
from platform_api.search.geocoding import CachedGeocoder
from platform_api.search.schemas import LocationOut, ProviderHit, RatingOut, SearchPage
from platform_api.search.service import SearchQuery, search_service
from shared_models.documents.bookings import MAX_AMOUNT_MINOR
from shared_models.enums import ServiceCategory

router = APIRouter(prefix="/search", tags=["search"])


@router.get(
    "/providers",
    summary="Providers who serve a location (by lat/lng or a place name), fairly ranked",
    description="Only providers whose subscription is in good standing appear. Results are grouped by tier "
    "and interleaved so every tier with matches gets a guaranteed share of the top positions; inside a tier, "
    "by distance and rating, ties rotated daily. `total` counts every match; page with `next_cursor`. "
    "Unknown place → 422 `unknown_location`; geocoder down → 503 `geocoder_unavailable`.",
    response_model=SearchPage,
    responses=errors(ValidationFailed, UnknownLocation, InvalidCursor, RateLimited, GeocoderUnavailable),
)
async def search_providers(
    request: Request,
    settings: SettingsDep,
    clock: ClockDep,
    limits: LimitsDep,
    geocoder: Annotated[CachedGeocoder, Depends(get_geocoder)],
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lng: Annotated[float | None, Query(ge=-180, le=180)] = None,
    q: Annotated[str | None, Query(min_length=2, max_length=200, description="A place: city, region")] = None,
    category: ServiceCategory | None = None,
    min_rating: Annotated[float | None, Query(ge=1, le=5)] = None,
    max_price: Annotated[int | None, Query(ge=0, description="In minor units of `currency`")] = None,
    currency: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
    max_distance_km: Annotated[float | None, Query(gt=0, le=500)] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> SearchPage:
    await limits.check("search", await _searcher(request))
    if (lat is None) != (lng is None):
        raise ValidationFailed(
            "Give both lat and lng, or a place name in q.", field="lng" if lng is None else "lat"
        )
    if max_price is not None and currency is None:
        raise ValidationFailed("max_price needs the currency it is in.", field="currency")
    label: str | None = None
    if lat is None or lng is None:
        if q is None:
            raise ValidationFailed("Give lat and lng, or a place name in q.", field="q")
        place = await geocoder.locate(q)
        lat, lng, label = place.lat, place.lng, place.label
    if max_price is not None:
        # No price exceeds MAX_AMOUNT_MINOR: a larger cap means the same (and would not fit a BSON integer).
        max_price = min(max_price, MAX_AMOUNT_MINOR)
    query = SearchQuery(lat, lng, category, min_rating, max_price, currency, max_distance_km)
    salt = settings.search_ranking_salt.get_secret_value()
    plan = search_service.search_whole if settings.search_plan == "whole" else search_service.search_page
    result = await plan(query, cursor, limit, salt, clock.now())
    items = []
    for i, match in enumerate(result.matches):
        listing, tier = match.listing(), match.candidate.tier
        items.append(
            ProviderHit(
                position=result.offset + i + 1,
                provider_id=listing.provider_id,
                slug=listing.slug,
                business_name=listing.business_name,
                categories=listing.categories,
                distance_km=round(match.candidate.distance_km, 3),
                tier=tier,
                badge=ENTITLEMENTS[tier].badge,
                rating=RatingOut(
                    count=listing.rating_count,
                    mean=listing.rating_sum / listing.rating_count if listing.rating_count else None,
                ),
                price_from=listing.price_from,
            )
        )
    return SearchPage(
        location=LocationOut(lat=lat, lng=lng, label=label),
        items=items,
        total=result.total,
        next_cursor=result.next_cursor,
    )


async def _searcher(request: Request) -> str:
    """Whom the search limit counts: the signed-in user (any valid session), else the client's IP."""
    try:
        session = await get_auth_session(request)
    except AppError:
        return f"ip:{client_ip(request)}"
    return f"user:{session.user_id}"
