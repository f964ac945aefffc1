"""Payment webhooks get the subscription webhook's robustness from the same handler: a forged or unsigned
event changes nothing, a signed event whose body lies changes nothing Stripe does not say, each event id is
applied once, the ledger keeps every delivery, and Connect's own endpoint secret is accepted too."""

import copy
import json

import httpx
import pytest
from fastapi import FastAPI

from platform_api.billing.stripe_api import stripe_client
from platform_api.config import Settings
from platform_api.entitlements import subscriptions
from scripts.stripe_fake.control import change_subscription, confirm_payment
from shared_models.clock import ManualClock
from shared_models.documents import ProcessedStripeEvent, WebhookDelivery
from shared_models.documents.payments import BookingPayment
from tests.factories import API, deliver, signed
from tests.platform_api.billing.helpers import stripe_get
from tests.platform_api.bookings.helpers import Parties, make_parties
from tests.platform_api.payments.helpers import (
    act,
    card_booking,
    catch_up,
    paid_booking,
    payment_of,
    start_payment,
    stored_payment,
    stripe_events,
)


async def test_forged_payment_webhooks_change_nothing(
    api: httpx.AsyncClient, stripe_api: str, card: Parties, clock: ManualClock
) -> None:
    booking = await paid_booking(api, stripe_api, card, clock.now())
    before = await stored_payment(booking)
    real = (await stripe_events(stripe_api, {booking.payment_intent_id}))[-1]
    lie = copy.deepcopy(real)
    lie.update(id="evt_forged_capture", type="payment_intent.succeeded")
    lie["data"]["object"].update(status="succeeded", amount_received=booking.amount, amount_capturable=0)
    body = json.dumps(lie)
    for headers in (
        {"Content-Type": "application/json"},  # unsigned
        signed(lie, secret="whsec_not_ours")[1],  # signed with another secret
        {**signed(lie)[1], "Stripe-Signature": signed(lie)[1]["Stripe-Signature"].replace("v1=", "v1=0")},
        signed(lie, timestamp=1_600_000_000)[1],  # an old, replayed signature
    ):
        response = await api.post(f"{API}/billing/webhook", content=body, headers=headers)
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_signature"
    after = await stored_payment(booking)
    assert after.model_dump() == before.model_dump()
    assert await ProcessedStripeEvent.find_one(ProcessedStripeEvent.event_id == "evt_forged_capture") is None
    rejected = await WebhookDelivery.find({"outcome": "rejected", "body": body}).count()
    assert rejected == 4


async def test_a_signed_event_that_lies_about_the_money_records_only_what_stripe_says(
    api: httpx.AsyncClient, stripe_api: str, card: Parties, clock: ManualClock
) -> None:
    """Even signed (a leaked secret, a bug upstream), an event only names the object: we read it again."""
    booking = await paid_booking(api, stripe_api, card, clock.now())
    real = (await stripe_events(stripe_api, {booking.payment_intent_id}))[-1]
    lie = copy.deepcopy(real)
    lie.update(id="evt_lying_refund", type="charge.refunded")
    lie["data"]["object"] = {
        "id": "ch_lie", "object": "charge", "payment_intent": booking.payment_intent_id,
        "amount_refunded": booking.amount, "refunded": True,
    }  # fmt: skip
    payload, headers = signed(lie)
    response = await api.post(f"{API}/billing/webhook", content=payload, headers=headers)
    assert response.status_code == 200, response.text
    shown = await payment_of(api, card.customer, booking)
    assert shown["status"] == "requires_capture" and shown["amount_refunded"] == 0 and shown["refunds"] == []


async def test_each_payment_event_applies_once_and_redeliveries_are_duplicates(
    api: httpx.AsyncClient, stripe_api: str, card: Parties, clock: ManualClock
) -> None:
    booking = await paid_booking(api, stripe_api, card, clock.now())
    assert (await act(api, card.provider, booking, "accept")).status_code == 200
    await catch_up(api, stripe_api, {booking.payment_intent_id})
    version = (await stored_payment(booking)).version
    events = await stripe_events(stripe_api, {booking.payment_intent_id})
    for event in events:
        payload, headers = signed(event)
        response = await api.post(f"{API}/billing/webhook", content=payload, headers=headers)
        assert response.json()["outcome"] == "duplicate", response.text
    assert (await stored_payment(booking)).version == version


async def test_the_connect_endpoint_secret_is_accepted_too(
    platform_app: FastAPI, api: httpx.AsyncClient, stripe_api: str
) -> None:
    """Production has two endpoints (the platform's, and Connect's for connected accounts' events), each
    with its own signing secret; both may point at the same URL."""
    p = await make_parties(api)
    settings = platform_app.state.settings
    original = settings.stripe_connect_webhook_secret
    settings.stripe_connect_webhook_secret = type(settings.stripe_webhook_secret)("whsec_connect_endpoint")
    try:
        from scripts.stripe_fake.control import onboard_account
        from tests.platform_api.payments.helpers import connected_account_id

        account_id = await connected_account_id(api, p.provider)
        await onboard_account(stripe_api, account_id)
        for event in await stripe_events(stripe_api, {account_id}):
            payload, headers = signed(event, secret="whsec_connect_endpoint")
            response = await api.post(f"{API}/billing/webhook", content=payload, headers=headers)
            assert response.status_code == 200, response.text
        forged = await api.post(
            f"{API}/billing/webhook",
            content=payload,
            headers=signed(json.loads(payload), secret="whsec_third")[1],
        )
        assert forged.status_code == 400
    finally:
        settings.stripe_connect_webhook_secret = original
    status = await api.get(f"{API}/payments/account", headers=p.provider.bearer)
    assert status.json()["charges_enabled"] is True


async def test_an_authorisation_for_another_amount_is_never_captured(
    api: httpx.AsyncClient, stripe_api: str, card: Parties, clock: ManualClock, settings: Settings
) -> None:
    """A PaymentIntent carrying a booking's metadata but not its price (a bug, a hand-made one in the
    dashboard) is recorded as Stripe has it, and acceptance refuses to capture it."""
    booking = await card_booking(api, card, clock.now(), amount=12000)
    account = (await api.get(f"{API}/payments/account", headers=card.provider.bearer)).json()
    intent = await stripe_client(settings).v1.payment_intents.create_async(
        params={
            "amount": 100,
            "currency": "gbp",
            "capture_method": "manual",
            "transfer_data": {"destination": account["stripe_account_id"]},
            "metadata": {"request_id": booking.request_id, "customer_id": card.customer.id,
                         "provider_id": card.provider_id, "provider_user_id": card.provider.id},
        }
    )  # fmt: skip
    await confirm_payment(stripe_api, intent.id)
    await catch_up(api, stripe_api, {intent.id})
    refused = await act(api, card.provider, booking, "accept")
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["details"]["amount_capturable"] == 100
    assert (await stripe_get(stripe_api, f"/v1/payment_intents/{intent.id}"))["status"] == "requires_capture"


async def test_a_payment_start_lost_before_it_was_recorded_is_started_again_on_the_new_terms(
    api: httpx.AsyncClient, stripe_api: str, card: Parties, clock: ManualClock
) -> None:
    """A PaymentIntent made at Stripe but never recorded (a crash; never shown to the app), then the provider
    changes tier: the customer's retry gets a PaymentIntent on the new terms, not a 500 for an idempotency
    key reused with other parameters; the lost one's events are not taken for the booking's payment."""
    booking = await card_booking(api, card, clock.now(), amount=10000)
    lost = await start_payment(api, card, booking)
    await BookingPayment.find_one(
        BookingPayment.stripe_payment_intent_id == lost["stripe_payment_intent_id"]
    ).delete()
    subscription = await subscriptions.get_for_provider(card.provider_id)
    assert subscription is not None
    for event in await change_subscription(
        stripe_api, subscription.stripe_subscription_id, "update", price="price_pro_monthly"
    ):
        assert (await deliver(api, event)).status_code == 200
    again = await api.post(f"{API}/requests/{booking.request_id}/payment", headers=card.customer.bearer)
    assert again.status_code == 200, again.text
    assert again.json()["stripe_payment_intent_id"] != lost["stripe_payment_intent_id"]
    assert again.json()["application_fee_amount"] == 1200  # pro's commission
    await catch_up(api, stripe_api, {lost["stripe_payment_intent_id"]})
    shown = await payment_of(api, card.customer, booking)
    assert shown["stripe_payment_intent_id"] == again.json()["stripe_payment_intent_id"]


@pytest.mark.parametrize(
    "change",
    [
        {"data": {"object": "pi_123"}},
        {"data": {"object": None}},
        {"data": {"object": []}},
        {"data": []},
        {"type": 5},
        {"id": ["evt_1"]},
    ],
)
async def test_a_signed_body_that_is_no_stripe_event_is_refused(
    api: httpx.AsyncClient, change: dict[str, object]
) -> None:
    event = {"id": "evt_shape", "object": "event", "type": "payment_intent.succeeded", "data": {"object": {}}}
    payload, headers = signed({**event, **change})
    response = await api.post(f"{API}/billing/webhook", content=payload, headers=headers)
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_signature", (
        response.text
    )


@pytest.mark.parametrize("intent_id", ["../../v1/accounts", "pi_1/../../x", "acct_123", "", 7])
async def test_an_event_naming_no_payment_intent_of_stripes_shape_is_ignored(
    api: httpx.AsyncClient, intent_id: object
) -> None:
    event = {
        "id": f"evt_odd_{abs(hash(str(intent_id)))}", "object": "event", "type": "payment_intent.succeeded",
        "data": {"object": {"id": intent_id, "object": "payment_intent"}},
    }  # fmt: skip
    payload, headers = signed(event)
    response = await api.post(f"{API}/billing/webhook", content=payload, headers=headers)
    assert response.status_code == 200 and response.json()["outcome"] == "ignored", response.text
