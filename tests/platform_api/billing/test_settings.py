"""Production refuses to run billing on the local stand-in's values; tiers are found by price slot."""

import pytest

from platform_api.config import Settings
from platform_api.entitlements.tiers import ENTITLEMENTS, PAID_TIERS, price_slots, tier_for_price
from shared_models.enums import SubscriptionTier

PRODUCTION = {
    "environment": "production",
    "jwt_secret": "p" * 40,
    "internal_api_token": "q" * 40,
    "stripe_secret_key": "sk_live_0123456789",
    "stripe_webhook_secret": "whsec_live_0123456789",
    "stripe_api_base": "",
}


def production(**overrides: str) -> Settings:
    return Settings(_env_file=None, **{**PRODUCTION, **overrides})  # type: ignore[arg-type]


def test_production_accepts_real_stripe_settings() -> None:
    production().check_secrets()


@pytest.mark.parametrize(
    "overrides",
    [
        {"stripe_secret_key": "sk_test_local_stand_in"},
        {"stripe_webhook_secret": "whsec_dev_only_0123456789abcdef0123456789abcdef"},
        {"stripe_api_base": "http://127.0.0.1:12111"},
    ],
)
def test_production_refuses_the_local_stand_in(overrides: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="STRIPE_"):
        production(**overrides).check_secrets()


def test_a_tier_is_whatever_slot_holds_the_price() -> None:
    settings = production(stripe_price_tier_pro="price_2027_pro", stripe_price_tier_premium="")
    assert tier_for_price("price_2027_pro", settings) is SubscriptionTier.pro
    assert tier_for_price("price_pro_monthly", settings) is SubscriptionTier.unknown  # the old price
    assert tier_for_price(None, settings) is SubscriptionTier.unknown
    assert SubscriptionTier.premium not in price_slots(settings)  # an empty slot is not on sale
    assert set(ENTITLEMENTS) == {*PAID_TIERS, SubscriptionTier.unknown}
    radii = [ENTITLEMENTS[t].max_service_radius_km for t in PAID_TIERS]
    assert radii == sorted(radii)  # each tier allows at least what the one below it does
