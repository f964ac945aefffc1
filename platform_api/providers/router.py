"""Provider profile routes: the signed-in provider's own profile and public profiles by slug."""

from fastapi import APIRouter

from platform_api.deps import READ_SESSION, WRITE_SESSION, ClockDep, ProviderSession
from platform_api.errors import (
    ConcurrentUpdate,
    RoleForbidden,
    errors,
)
from platform_api.providers.errors import EditWithoutProfile, ProfileNotFound, ProviderNotFound, TierLimit
from platform_api.providers.schemas import ProviderProfileOut, ProviderUpdate
from platform_api.providers.service import provider_service

router = APIRouter(prefix="/providers", tags=["providers"])


@router.get(
    "/me",
    summary="The signed-in provider's own profile",
    response_model=ProviderProfileOut,
    responses=errors(*READ_SESSION, RoleForbidden, ProfileNotFound),
)
async def my_profile(session: ProviderSession) -> ProviderProfileOut:
    profile = await provider_service.get_by_owner(session.user_id)
    if profile is None:
        raise ProfileNotFound()
    return ProviderProfileOut.of(profile)


@router.patch(
    "/me",
    summary="Edit the signed-in provider's profile (a new service area is re-indexed for search)",
    description="Within the subscription tier's limits (categories, service radius): beyond them → 422 "
    "`tier_limit`.",
    response_model=ProviderProfileOut,
    responses=errors(
        *WRITE_SESSION, RoleForbidden, EditWithoutProfile, ProviderNotFound, ConcurrentUpdate, TierLimit
    ),
)
async def edit_my_profile(
    body: ProviderUpdate, session: ProviderSession, clock: ClockDep
) -> ProviderProfileOut:
    return ProviderProfileOut.of(await provider_service.update(session.user_id, body, clock))


@router.get(
    "/{slug}",
    summary="A provider's public profile",
    response_model=ProviderProfileOut,
    responses=errors(ProviderNotFound),
)
async def public_profile(slug: str) -> ProviderProfileOut:
    profile = await provider_service.get_by_slug(slug)
    if profile is None:
        raise ProviderNotFound("No provider with this address.")
    return ProviderProfileOut.of(profile)
