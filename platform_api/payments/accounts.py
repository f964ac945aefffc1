"""Providers as Stripe Connect Express accounts: created once per provider, onboarded on Stripe's hosted pages
(an account link, to start or resume), managed in Stripe's Express dashboard (a login link: payouts, bank
details and tax forms stay Stripe's).

Whether an account can take charges is written only by `account.updated` (`payments.reducer`); here an
account is created with every capability off and read.
"""

import contextlib
from dataclasses import dataclass
from datetime import datetime

import stripe
import structlog
from pymongo.errors import DuplicateKeyError

from platform_api.billing.stripe_api import stripe_errors
from platform_api.config import Settings
from platform_api.payments.errors import ChargesNotEnabled, NoConnectedAccount, OnboardingIncomplete
from shared_models.clock import Clock, from_timestamp
from shared_models.documents import ProviderProfile, User
from shared_models.documents.payments import ConnectedAccount

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class HostedLink:
    """A short-lived Stripe-hosted URL (`expires_at` None: Stripe gives none, as for login links)."""

    url: str
    expires_at: datetime | None


async def get_for_provider(provider_id: str) -> ConnectedAccount | None:
    return await ConnectedAccount.find_one(ConnectedAccount.provider_id == provider_id)


async def chargeable(provider_id: str) -> ConnectedAccount:
    """The provider's account if it can take card payments now; else `ChargesNotEnabled`."""
    account = await get_for_provider(provider_id)
    if account is None or not account.charges_enabled:
        raise ChargesNotEnabled(
            details={"requirements_due": account.requirements_due if account else ["onboarding"]}
        )
    return account


async def ensure(
    provider: ProviderProfile, owner: User, settings: Settings, client: stripe.StripeClient, clock: Clock
) -> ConnectedAccount:
    """The provider's connected account, created at Stripe once. Concurrent first calls share one account:
    the idempotency key makes Stripe return the same one, and the unique index keeps one record."""
    existing = await get_for_provider(str(provider.id))
    if existing is not None:
        return existing
    with stripe_errors("create the connected account"):
        account = await client.v1.accounts.create_async(
            params={
                "type": "express",
                "country": settings.stripe_connect_country,
                "email": owner.email,
                "business_profile": {"name": provider.business_name},
                "capabilities": {"card_payments": {"requested": True}, "transfers": {"requested": True}},
                "metadata": {"provider_id": str(provider.id), "provider_user_id": provider.owner_id},
            },
            options={"idempotency_key": f"marketplace-connect-account-{provider.id}"},
        )
    now = clock.now()
    with contextlib.suppress(DuplicateKeyError):
        await ConnectedAccount(
            provider_id=str(provider.id),
            provider_user_id=provider.owner_id,
            stripe_account_id=str(account.id),
            created_at=now,
            updated_at=now,
        ).insert()
        log.info("payments.account_created", provider_id=str(provider.id), account=account.id)
    found = await get_for_provider(str(provider.id))
    assert found is not None
    return found


async def onboarding_link(
    provider: ProviderProfile, owner: User, settings: Settings, client: stripe.StripeClient, clock: Clock
) -> HostedLink:
    """An account link to Stripe's hosted onboarding: to start it, or to resume it where the provider left
    (Stripe keeps what was entered). Links are single-use and expire in minutes: ask for a new one each time."""
    account = await ensure(provider, owner, settings, client, clock)
    with stripe_errors("start onboarding"):
        link = await client.v1.account_links.create_async(
            params={
                "account": account.stripe_account_id,
                "refresh_url": settings.connect_refresh_url,
                "return_url": settings.connect_return_url,
                "type": "account_onboarding",
            }
        )
    return HostedLink(url=str(link.url), expires_at=from_timestamp(link.expires_at))


async def dashboard_link(provider: ProviderProfile, client: stripe.StripeClient) -> HostedLink:
    """A login link to the provider's Express dashboard (payouts, bank account, tax forms). Only once the
    provider has submitted its details, as Stripe requires."""
    account = await get_for_provider(str(provider.id))
    if account is None:
        raise NoConnectedAccount()
    if not account.details_submitted:
        raise OnboardingIncomplete(details={"requirements_due": account.requirements_due})
    with stripe_errors("open the Express dashboard"):
        link = await client.v1.accounts.login_links.create_async(account.stripe_account_id)
    return HostedLink(url=str(link.url), expires_at=None)
