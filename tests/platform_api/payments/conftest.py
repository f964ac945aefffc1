"""Fixtures of the payments tests."""

import httpx
import pytest

from tests.platform_api.bookings.helpers import Parties, make_parties
from tests.platform_api.payments.helpers import onboard


@pytest.fixture
async def card(api: httpx.AsyncClient, stripe_api: str) -> Parties:
    """Parties whose provider finished Stripe onboarding: its bookings are paid by card."""
    p = await make_parties(api)
    await onboard(api, stripe_api, p.provider)
    return p
