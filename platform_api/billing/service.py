"""Billing for providers: Stripe customers, Checkout and portal sessions, the webhook ledger for admins.

Subscription state itself is never written here: only the Stripe webhook (the `webhook/` package) writes it.
"""

import contextlib

import stripe
import structlog
from pymongo.errors import DuplicateKeyError

from platform_api.billing.errors import AlreadySubscribed, NoBillingAccount, TierUnavailable
from platform_api.billing.schemas import CheckoutSessionOut, PortalSessionOut
from platform_api.billing.stripe_api import stripe_errors
from platform_api.config import Settings
from platform_api.entitlements import subscriptions
from platform_api.entitlements.tiers import price_slots
from shared_models.clock import Clock
from shared_models.documents import BillingCustomer, ProviderProfile, User, WebhookDelivery
from shared_models.enums import SubscriptionTier

log = structlog.get_logger(__name__)


class BillingService:
    async def customer_for(
        self, provider: ProviderProfile, owner: User, client: stripe.StripeClient, clock: Clock
    ) -> str:
        """The provider's Stripe customer, created once. Concurrent first checkouts share one customer: the
        idempotency key makes Stripe return the same one, and the unique index keeps one record."""
        existing = await BillingCustomer.find_one(BillingCustomer.provider_id == str(provider.id))
        if existing is not None:
            return existing.stripe_customer_id
        with stripe_errors("create the billing customer"):
            customer = await client.v1.customers.create_async(
                params={
                    "email": owner.email,
                    "name": provider.business_name,
                    "metadata": {"provider_id": str(provider.id), "provider_user_id": provider.owner_id},
                },
                options={"idempotency_key": f"marketplace-customer-{provider.id}"},
            )
        # A concurrent checkout may have recorded it first (the same customer, by the idempotency key).
        with contextlib.suppress(DuplicateKeyError):
            await BillingCustomer(
                provider_id=str(provider.id), stripe_customer_id=customer.id, created_at=clock.now()
            ).insert()
        return str(customer.id)

    async def checkout(
        self,
        provider: ProviderProfile,
        owner: User,
        tier: SubscriptionTier,
        settings: Settings,
        client: stripe.StripeClient,
        clock: Clock,
    ) -> CheckoutSessionOut:
        price = price_slots(settings).get(tier)
        if price is None:
            raise TierUnavailable(f"The {tier.value} tier is not on sale.", field="tier")
        current = await subscriptions.get_for_provider(str(provider.id))
        if current is not None and current.entitled:
            raise AlreadySubscribed(details={"tier": current.tier.value, "status": current.status.value})
        customer_id = await self.customer_for(provider, owner, client, clock)
        metadata = {"provider_id": str(provider.id), "provider_user_id": provider.owner_id}
        with stripe_errors("start a checkout"):
            session = await client.v1.checkout.sessions.create_async(
                params={
                    "mode": "subscription",
                    "customer": customer_id,
                    "line_items": [{"price": price, "quantity": 1}],
                    "success_url": settings.billing_success_url,
                    "cancel_url": settings.billing_cancel_url,
                    "client_reference_id": str(provider.id),
                    "metadata": metadata,
                    "subscription_data": {"metadata": metadata},
                }
            )
        log.info("billing.checkout", provider_id=str(provider.id), tier=tier.value, session_id=session.id)
        return CheckoutSessionOut(session_id=session.id, url=str(session.url))

    async def portal(
        self, provider: ProviderProfile, settings: Settings, client: stripe.StripeClient
    ) -> PortalSessionOut:
        customer = await BillingCustomer.find_one(BillingCustomer.provider_id == str(provider.id))
        if customer is None:
            raise NoBillingAccount()
        with stripe_errors("open the billing portal"):
            session = await client.v1.billing_portal.sessions.create_async(
                params={
                    "customer": customer.stripe_customer_id,
                    "return_url": settings.billing_portal_return_url,
                }
            )
        return PortalSessionOut(url=session.url)

    async def deliveries(
        self, outcome: str | None, cursor: str | None, limit: int
    ) -> tuple[list[WebhookDelivery], str | None]:
        query: dict[str, object] = {}
        if outcome is not None:
            query["outcome"] = outcome
        if cursor is not None:
            query["received_key"] = {"$lt": cursor}
        items = await WebhookDelivery.find(query).sort("-received_key").limit(limit + 1).to_list()
        next_cursor = items[limit - 1].received_key if len(items) > limit else None
        return items[:limit], next_cursor


billing_service = BillingService()
