"""Payments routes: a provider's connected account (status, onboarding link, Express dashboard link) and the
cancellation policy. A booking's own payment is under `/requests/{id}/payment` (the bookings router)."""

from fastapi import APIRouter

from platform_api.billing.errors import StripeUnavailable
from platform_api.deps import (
    READ_SESSION,
    WRITE_SESSION,
    ClockDep,
    ProviderSession,
    SettingsDep,
    StripeDep,
)
from platform_api.errors import RoleForbidden, errors
from platform_api.idempotency import IDEMPOTENT, IdempotentRoute
from platform_api.payments import accounts
from platform_api.payments.errors import NoConnectedAccount, OnboardingIncomplete
from platform_api.payments.schemas import CancellationPolicyOut, ConnectedAccountOut, HostedLinkOut
from platform_api.providers.errors import ProfileNotFound
from platform_api.providers.service import provider_service
from shared_models.documents import ProviderProfile

router = APIRouter(prefix="/payments", tags=["payments"], route_class=IdempotentRoute)


async def _profile(session: ProviderSession) -> ProviderProfile:
    profile = await provider_service.get_by_owner(session.user_id)
    if profile is None:
        raise ProfileNotFound()
    return profile


@router.get(
    "/account",
    summary="My connected account for payouts, as Stripe last reported it (providers)",
    response_model=ConnectedAccountOut,
    responses=errors(*READ_SESSION, RoleForbidden, ProfileNotFound, NoConnectedAccount),
)
async def my_account(session: ProviderSession) -> ConnectedAccountOut:
    account = await accounts.get_for_provider(str((await _profile(session)).id))
    if account is None:
        raise NoConnectedAccount()
    return ConnectedAccountOut.of(account)


@router.post(
    "/account-link",
    dependencies=[IDEMPOTENT],
    summary="Start or resume Stripe onboarding: a link to Stripe's hosted pages (providers)",
    description="Creates the provider's Stripe Connect Express account the first time. The link is "
    "single-use and short-lived: ask for a new one each time. Whether the account can take charges is "
    "recorded from Stripe's `account.updated` webhook, never by this call.",
    response_model=HostedLinkOut,
    responses=errors(*WRITE_SESSION, RoleForbidden, ProfileNotFound, StripeUnavailable),
)
async def account_link(
    session: ProviderSession, settings: SettingsDep, client: StripeDep, clock: ClockDep
) -> HostedLinkOut:
    link = await accounts.onboarding_link(await _profile(session), session.user, settings, client, clock)
    return HostedLinkOut(url=link.url, expires_at=link.expires_at)


@router.post(
    "/login-link",
    dependencies=[IDEMPOTENT],
    summary="Open my Stripe Express dashboard: payouts, bank account, tax forms (providers)",
    response_model=HostedLinkOut,
    responses=errors(
        *WRITE_SESSION,
        RoleForbidden,
        ProfileNotFound,
        NoConnectedAccount,
        OnboardingIncomplete,
        StripeUnavailable,
    ),
)
async def login_link(session: ProviderSession, client: StripeDep) -> HostedLinkOut:
    link = await accounts.dashboard_link(await _profile(session), client)
    return HostedLinkOut(url=link.url, expires_at=link.expires_at)


@router.get(
    "/cancellation-policy",
    summary="What cancelling, declining or an expiry does with a card-paid booking's money (public)",
    response_model=CancellationPolicyOut,
)
async def cancellation_policy() -> CancellationPolicyOut:
    return CancellationPolicyOut.current()
