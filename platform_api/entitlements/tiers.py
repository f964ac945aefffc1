"""Tiers: which Stripe price is which tier (the env-var slots), and what each tier entitles. Data, one place."""

import structlog
from pydantic import BaseModel

from platform_api.config import Settings
from shared_models.enums import SubscriptionTier

log = structlog.get_logger(__name__)


class Entitlements(BaseModel, frozen=True):
    """What a tier allows. Tiers buy capacity, a badge and a lower commission, never a better search
    position. `commission_bps`: the platform's application fee on a paid booking, in basis points of the
    amount charged (1 bp = 0.01 %)."""

    max_categories: int
    max_service_radius_km: float
    badge: str | None
    commission_bps: int


ENTITLEMENTS: dict[SubscriptionTier, Entitlements] = {
    SubscriptionTier.basic: Entitlements(
        max_categories=2, max_service_radius_km=15, badge=None, commission_bps=1500
    ),
    SubscriptionTier.pro: Entitlements(
        max_categories=5, max_service_radius_km=40, badge="pro", commission_bps=1200
    ),
    SubscriptionTier.premium: Entitlements(
        max_categories=12, max_service_radius_km=100, badge="premium", commission_bps=1000
    ),
    # A paying provider on a price we have no slot for (a configuration slip on our side) keeps the
    # smallest paid entitlements rather than losing service.
    SubscriptionTier.unknown: Entitlements(
        max_categories=2, max_service_radius_km=15, badge=None, commission_bps=1500
    ),
}


def application_fee(amount: int, tier: SubscriptionTier) -> int:
    """The platform's fee on a booking charged `amount` minor units by a provider on `tier`: the tier's
    commission, rounded half up to a whole minor unit."""
    return (amount * ENTITLEMENTS[tier].commission_bps + 5_000) // 10_000


PAID_TIERS = (SubscriptionTier.basic, SubscriptionTier.pro, SubscriptionTier.premium)


def price_slots(settings: Settings) -> dict[SubscriptionTier, str]:
    """The configured price id of each tier (unset slots are left out: that tier cannot be bought)."""
    slots = {
        SubscriptionTier.basic: settings.stripe_price_tier_basic,
        SubscriptionTier.pro: settings.stripe_price_tier_pro,
        SubscriptionTier.premium: settings.stripe_price_tier_premium,
    }
    return {tier: price for tier, price in slots.items() if price}


def tier_for_price(price_id: str | None, settings: Settings) -> SubscriptionTier:
    """The tier whose slot holds this price, matched at event time; `unknown` (and a warning) otherwise."""
    for tier, price in price_slots(settings).items():
        if price == price_id:
            return tier
    log.warning("billing.unknown_price", price_id=price_id)
    return SubscriptionTier.unknown
