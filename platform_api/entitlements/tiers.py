"""Tiers: which Stripe price is which tier (the env-var slots), and what each tier entitles. Data, one place."""

import structlog
from pydantic import BaseModel

from platform_api.config import Settings
from shared_models.enums import SubscriptionTier

log = structlog.get_logger(__name__)


class Entitlements(BaseModel, frozen=True):
    """What a tier allows. Tiers buy capacity and a badge, never a better search position."""

    max_categories: int
    max_service_radius_km: float
    badge: str | None


ENTITLEMENTS: dict[SubscriptionTier, Entitlements] = {
    SubscriptionTier.basic: Entitlements(max_categories=2, max_service_radius_km=15, badge=None),
    SubscriptionTier.pro: Entitlements(max_categories=5, max_service_radius_km=40, badge="pro"),
    SubscriptionTier.premium: Entitlements(max_categories=12, max_service_radius_km=100, badge="premium"),
    # A paying provider on a price we have no slot for (a configuration slip on our side) keeps the
    # smallest paid entitlements rather than losing service.
    SubscriptionTier.unknown: Entitlements(max_categories=2, max_service_radius_km=15, badge=None),
}

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
