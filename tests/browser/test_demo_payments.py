"""The demo seed's card payments on the live stack, whose Stripe stand-in sends every payment and account event
to the platform while the seed runs the same events through the handler itself: the payments read as Stripe
has them, and no event was processed twice."""

from collections import Counter

import httpx
import pytest

from scripts.seed import CARD_BOOKINGS, CARD_PROVIDER, DEMO_PASSWORD
from scripts.stripe_fake.control import flush_webhooks
from shared_models.documents import WebhookDelivery
from tests.browser.conftest import Demo, live_database
from tests.conftest import LiveStack
from tests.factories import API

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("browser")]


async def test_the_demo_has_a_captured_and_an_authorised_card_payment(
    demo: Demo, live_stack: LiveStack
) -> None:
    await flush_webhooks(live_stack.stripe_api)  # what the stand-in sent by itself has arrived
    async with httpx.AsyncClient(base_url=live_stack.platform_url, timeout=30) as client:
        listed = await client.get(f"{API}/requests", headers=demo.customer.bearer)
        assert listed.status_code == 200, listed.text
        card_paid = {r["description"]: r for r in listed.json()["items"] if r["payment_required"]}
        assert sorted(card_paid) == sorted(plan.description for plan in CARD_BOOKINGS)
        provider = await client.post(
            f"{API}/auth/login", json={"email": CARD_PROVIDER, "password": DEMO_PASSWORD}
        )
        assert provider.status_code == 200, provider.text
        account = await client.get(
            f"{API}/payments/account",
            headers={"Authorization": f"Bearer {provider.json()['access_token']}"},
        )
        payments = {
            plan.description: (
                await client.get(
                    f"{API}/requests/{card_paid[plan.description]['id']}/payment",
                    headers=demo.customer.bearer,
                )
            ).json()
            for plan in CARD_BOOKINGS
        }
    assert account.json()["charges_enabled"] is True, account.text
    for plan in CARD_BOOKINGS:
        payment, state = payments[plan.description], card_paid[plan.description]["state"]
        assert payment["amount"] == plan.amount_minor and payment["application_fee_amount"] > 0, payment
        if plan.accepted:
            assert (state, payment["status"], payment["amount_received"]) == (
                "accepted",
                "succeeded",
                plan.amount_minor,
            ), payment
        else:
            assert (state, payment["status"], payment["amount_capturable"]) == (
                "requested",
                "requires_capture",
                plan.amount_minor,
            ), payment
    # Each of Stripe's events about the demo's account and payments processed once (by the seed, which has
    # the stand-in hold them while it seeds, so the platform is not sent them too).
    about = {account.json()["stripe_account_id"], *(p["stripe_payment_intent_id"] for p in payments.values())}
    async with live_database(live_stack):
        deliveries = await WebhookDelivery.find(WebhookDelivery.outcome == "processed").to_list()
    processed = Counter(d.event_id for d in deliveries if any(object_id in d.body for object_id in about))
    assert processed and max(processed.values()) == 1, processed
