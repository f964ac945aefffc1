"""Billing routes: the provider's checkout, portal and read-only subscription; Stripe's webhook."""

from typing import Annotated

from fastapi import APIRouter, Depends

from platform_api.billing.errors import (
    AlreadySubscribed,
    InvalidSignature,
    NoBillingAccount,
    PayloadTooLarge,
    StripeUnavailable,
    TierUnavailable,
    WebhookFailed,
)
from platform_api.billing.schemas import (
    CheckoutRequest,
    CheckoutSessionOut,
    PortalSessionOut,
    SubscriptionOut,
    WebhookAck,
)
from platform_api.billing.service import billing_service
from platform_api.billing.webhook import StripeWebhook, VerifiedDelivery, verified_delivery
from platform_api.deps import (
    READ_SESSION,
    WRITE_SESSION,
    AuthSession,
    ClockDep,
    ProviderSession,
    SettingsDep,
    StripeDep,
    get_webhook,
)
from platform_api.entitlements import subscriptions
from platform_api.errors import (
    RoleForbidden,
    errors,
)
from platform_api.idempotency import IDEMPOTENT, IdempotentRoute
from platform_api.providers.errors import ProfileNotFound
from platform_api.providers.service import provider_service
from shared_models.documents import ProviderProfile
from shared_models.enums import SubscriptionTier

router = APIRouter(prefix="/billing", tags=["billing"], route_class=IdempotentRoute)


WebhookDep = Annotated[StripeWebhook, Depends(get_webhook)]


async def own_profile(session: AuthSession) -> ProviderProfile:
    profile = await provider_service.get_by_owner(session.user_id)
    if profile is None:
        raise ProfileNotFound()
    return profile


@router.post(
    "/checkout-session",
    dependencies=[IDEMPOTENT],
    summary="Start a subscription: a Stripe Checkout session for a tier (providers)",
    description="Creates (or reuses) the provider's Stripe customer. The subscription is recorded when "
    "Stripe's webhook confirms it, never by this call. Already subscribed → 409 `already_subscribed` "
    "(change tiers in the billing portal).",
    response_model=CheckoutSessionOut,
    responses=errors(
        *WRITE_SESSION, RoleForbidden, ProfileNotFound, TierUnavailable, AlreadySubscribed, StripeUnavailable
    ),
)
async def create_checkout_session(
    body: CheckoutRequest, session: ProviderSession, settings: SettingsDep, client: StripeDep, clock: ClockDep
) -> CheckoutSessionOut:
    profile = await own_profile(session)
    return await billing_service.checkout(
        profile, session.user, SubscriptionTier(body.tier), settings, client, clock
    )


@router.post(
    "/portal-session",
    dependencies=[IDEMPOTENT],
    summary="Open Stripe's billing portal: change tier, payment method, cancel (providers)",
    response_model=PortalSessionOut,
    responses=errors(*WRITE_SESSION, RoleForbidden, ProfileNotFound, NoBillingAccount, StripeUnavailable),
)
async def create_portal_session(
    session: ProviderSession, settings: SettingsDep, client: StripeDep
) -> PortalSessionOut:
    return await billing_service.portal(await own_profile(session), settings, client)


@router.get(
    "/subscription",
    summary="My subscription as last confirmed by Stripe (read-only)",
    response_model=SubscriptionOut,
    responses=errors(*READ_SESSION, RoleForbidden, ProfileNotFound),
)
async def my_subscription(session: ProviderSession) -> SubscriptionOut:
    profile = await own_profile(session)
    return SubscriptionOut.of(await subscriptions.get_for_provider(str(profile.id)))


@router.post(
    "/webhook",
    summary="Stripe's webhook endpoint (signed by Stripe; not for clients)",
    description="Verifies `Stripe-Signature`; anything unsigned, forged or stale → 400 with no effect. "
    "Each event applies once; a failure answers 5xx so Stripe retries.",
    response_model=WebhookAck,
    responses=errors(InvalidSignature, PayloadTooLarge, WebhookFailed, StripeUnavailable),
)
async def stripe_webhook(
    delivery: Annotated[VerifiedDelivery, Depends(verified_delivery)], webhook: WebhookDep
) -> WebhookAck:
    outcome = await webhook.receive(delivery)
    return WebhookAck(outcome=outcome.status, detail=outcome.detail)
