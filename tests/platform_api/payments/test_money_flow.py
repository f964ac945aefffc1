"""A card-paid booking's money through the platform, the real Stripe SDK, the Stripe stand-in (a real process)
and signed webhooks: authorise on request, capture on acceptance exactly once, release or refund per the
cancellation policy on every other end."""

from datetime import timedelta

import httpx
import pytest

from platform_api.billing.stripe_api import stripe_client
from platform_api.bookings.service import booking_service
from platform_api.config import Settings
from platform_api.payments import settlement
from scripts.stripe_fake.control import confirm_payment
from shared_models.clock import ManualClock
from shared_models.documents.payments import PaymentAction
from shared_models.enums import RequestEvent
from tests.factories import API, PASSWORD
from tests.platform_api.billing.helpers import stripe_get
from tests.platform_api.bookings.helpers import Parties, actors, request_payload
from tests.platform_api.payments.helpers import (
    act,
    card_booking,
    catch_up,
    instructions,
    paid_booking,
    payment_of,
    settle_sweep,
    start_payment,
    stripe_events,
    stripe_intent,
    stripe_refunds,
)

BASIC_COMMISSION_BPS = 1500  # the basic tier's commission (entitlements.tiers)


async def test_request_pay_accept_complete_confirm_captures_once(
    api: httpx.AsyncClient, stripe_api: str, card: Parties, clock: ManualClock, settings: Settings
) -> None:
    booking = await paid_booking(api, stripe_api, card, clock.now(), amount=12000)
    authorised = await payment_of(api, card.customer, booking)
    assert authorised["amount"] == 12000 and authorised["currency"] == "GBP"
    assert authorised["application_fee_amount"] == 12000 * BASIC_COMMISSION_BPS // 10_000
    assert authorised["amount_capturable"] == 12000 and authorised["amount_received"] == 0

    accepted = await act(api, card.provider, booking, "accept")
    assert accepted.status_code == 200, accepted.text
    # Stripe captured at once; our record says so when Stripe's webhook does.
    assert (await stripe_intent(stripe_api, booking.payment_intent_id))["status"] == "succeeded"
    await catch_up(api, stripe_api, {booking.payment_intent_id})
    captured = await payment_of(api, card.provider, booking)
    assert captured["status"] == "succeeded" and captured["amount_received"] == 12000
    assert [(i["action"], i["amount"]) for i in captured["instructions"]] == [("capture", 12000)]

    clock.advance(timedelta(days=3))
    assert (await act(api, card.provider, booking, "complete")).status_code == 200
    assert (await act(api, card.customer, booking, "confirm")).status_code == 200
    # Everything again: the sweep, every webhook redelivered. Nothing moves twice.
    await settle_sweep(settings, clock.now())
    await catch_up(api, stripe_api, {booking.payment_intent_id}, seed=7)
    intent = await stripe_intent(stripe_api, booking.payment_intent_id)
    assert intent["amount_received"] == 12000 and intent["status"] == "succeeded"
    charge = await stripe_get(stripe_api, f"/v1/charges/{intent['latest_charge']}")
    transfer = await stripe_get(stripe_api, f"/v1/transfers/{charge['transfer']}")
    assert transfer["destination"] == intent["transfer_data"]["destination"]
    assert transfer["amount_reversed"] == 0
    assert await stripe_refunds(stripe_api, booking.payment_intent_id) == []
    captures = [e for e in await stripe_events(stripe_api, {booking.payment_intent_id})
                if e["type"] == "payment_intent.succeeded"]  # fmt: skip
    assert len(captures) == 1
    assert [(i.action, i.amount) for i in await instructions(booking)] == [(PaymentAction.capture, 12000)]
    final = await payment_of(api, card.customer, booking)
    assert final["amount_received"] == 12000 and final["amount_refunded"] == 0


async def test_a_provider_cannot_accept_before_the_card_is_authorised(
    api: httpx.AsyncClient, stripe_api: str, card: Parties, clock: ManualClock
) -> None:
    booking = await card_booking(api, card, clock.now())
    refused = await act(api, card.provider, booking, "accept")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "payment_not_authorised"
    await start_payment(api, card, booking)
    await confirm_payment(stripe_api, booking.payment_intent_id, "pm_card_chargeDeclined")
    await catch_up(api, stripe_api, {booking.payment_intent_id})
    declined = await payment_of(api, card.customer, booking)
    assert declined["status"] == "requires_payment_method" and declined["last_payment_error"]
    refused = await act(api, card.provider, booking, "accept")
    assert refused.status_code == 409 and refused.json()["error"]["details"]["payment_status"] == (
        "requires_payment_method"
    )
    # The customer tries another card: now it can be accepted.
    await confirm_payment(stripe_api, booking.payment_intent_id)
    await catch_up(api, stripe_api, {booking.payment_intent_id})
    assert (await act(api, card.provider, booking, "accept")).status_code == 200


async def test_accepting_cannot_change_the_authorised_price(
    api: httpx.AsyncClient, stripe_api: str, card: Parties, clock: ManualClock
) -> None:
    booking = await paid_booking(api, stripe_api, card, clock.now())
    changed = await act(
        api, card.provider, booking, "accept", quote={"amount_minor": 20000, "currency": "GBP"}
    )
    assert changed.status_code == 422 and changed.json()["error"]["code"] == "quote_locked"
    assert (await stripe_intent(stripe_api, booking.payment_intent_id))["status"] == "requires_capture"


async def test_a_card_paid_booking_needs_a_price_stripe_can_charge(
    api: httpx.AsyncClient, stripe_api: str, card: Parties, clock: ManualClock
) -> None:
    refused = [
        (None, "quote_required"),
        ({"amount_minor": 29, "currency": "GBP"}, "amount_too_small"),
        ({"amount_minor": 49, "currency": "EUR"}, "amount_too_small"),
        ({"amount_minor": 100_000_000, "currency": "GBP"}, "amount_too_large"),
        ({"amount_minor": 5000, "currency": "XXX"}, "currency_not_supported"),
        ({"amount_minor": 5000, "currency": "JPY"}, "currency_not_supported"),
    ]
    for quote, code in refused:
        payload = request_payload(card.provider_id, clock.now(), quote=quote)
        response = await api.post(f"{API}/requests", json=payload, headers=card.customer.bearer)
        assert response.status_code == 422 and response.json()["error"]["code"] == code, (
            quote,
            response.text,
        )
    # The smallest and the largest Stripe charges are booked and paid.
    for amount in (30, 99_999_999):
        booking = await paid_booking(api, stripe_api, card, clock.now(), amount=amount)
        assert (await stripe_intent(stripe_api, booking.payment_intent_id))["amount_capturable"] == amount


async def test_decline_releases_the_authorisation(
    api: httpx.AsyncClient, stripe_api: str, card: Parties, clock: ManualClock
) -> None:
    booking = await paid_booking(api, stripe_api, card, clock.now())
    assert (await act(api, card.provider, booking, "decline")).status_code == 200
    intent = await stripe_intent(stripe_api, booking.payment_intent_id)
    assert intent["status"] == "canceled" and intent["amount_received"] == 0
    await catch_up(api, stripe_api, {booking.payment_intent_id})
    released = await payment_of(api, card.customer, booking)
    assert released["status"] == "canceled" and released["amount_capturable"] == 0
    assert [i["action"] for i in released["instructions"]] == ["release"]


async def test_expiry_releases_the_authorisation(
    api: httpx.AsyncClient, stripe_api: str, card: Parties, clock: ManualClock, settings: Settings
) -> None:
    booking = await paid_booking(api, stripe_api, card, clock.now())
    clock.advance(timedelta(hours=48))
    await booking_service.sweep_due(clock.now())
    await settle_sweep(settings, clock.now())
    assert (await stripe_intent(stripe_api, booking.payment_intent_id))["status"] == "canceled"
    assert [(i.action, i.rule) for i in await instructions(booking)] == [(PaymentAction.release, "expired")]


# (who cancels, accepted first?, hours from the cancellation to the booked window's start, the refund of a
# 100.01 GBP booking: None = the authorisation is released)
CANCELLATIONS = [
    pytest.param("customer", False, 72, None, id="customer_before_acceptance-released"),
    pytest.param("provider", True, 72, 10001, id="provider_after_acceptance-full"),
    pytest.param("customer", True, 72, 10001, id="customer_with_notice-full"),
    pytest.param("customer", True, 24, 10001, id="customer_with_exactly_24h-full"),
    pytest.param("customer", True, 12, 5001, id="customer_late-half_rounded_up"),
]


@pytest.mark.parametrize(("who", "accepted", "hours", "expected"), CANCELLATIONS)
async def test_each_cancellation_releases_or_refunds_per_the_policy(
    api: httpx.AsyncClient,
    stripe_api: str,
    card: Parties,
    clock: ManualClock,
    who: str,
    accepted: bool,
    hours: int,
    expected: int | None,
) -> None:
    start = clock.now() + timedelta(hours=hours)
    window = {"start": start.isoformat(), "end": (start + timedelta(hours=2)).isoformat()}
    booking = await paid_booking(api, stripe_api, card, clock.now(), amount=10001, window=window)
    if accepted:
        assert (await act(api, card.provider, booking, "accept")).status_code == 200
    canceller = card.customer if who == "customer" else card.provider
    cancelled = await act(api, canceller, booking, "cancel", reason="Plans changed.")
    assert cancelled.status_code == 200, cancelled.text
    intent = await stripe_intent(stripe_api, booking.payment_intent_id)
    refunds = await stripe_refunds(stripe_api, booking.payment_intent_id)
    if expected is None:
        assert intent["status"] == "canceled" and refunds == []
        return
    assert intent["amount_received"] == 10001
    assert [r["amount"] for r in refunds] == [expected]
    assert refunds[0]["metadata"]["purpose"] in {
        "provider_after_acceptance",
        "customer_with_notice",
        "customer_late",
    }
    # Stripe reversed the provider's transfer and the platform's fee in the same proportion.
    charge = await stripe_get(stripe_api, f"/v1/charges/{intent['latest_charge']}")
    transfer = await stripe_get(stripe_api, f"/v1/transfers/{charge['transfer']}")
    fee = await stripe_get(stripe_api, f"/v1/application_fees/{charge['application_fee']}")
    assert transfer["amount_reversed"] > 0 and fee["amount_refunded"] > 0
    assert abs(fee["amount_refunded"] - fee["amount"] * expected / 10001) <= 1
    # The refund shows as refunded once Stripe's webhooks say so, not before.
    assert (await payment_of(api, card.customer, booking))["amount_refunded"] == 0
    await catch_up(api, stripe_api, {booking.payment_intent_id}, seed=3)
    shown = await payment_of(api, card.customer, booking)
    assert shown["amount_refunded"] == expected
    assert [r["amount"] for r in shown["refunds"]] == [expected]


async def test_a_capture_stripe_missed_is_made_by_the_settle_sweep(
    api: httpx.AsyncClient, stripe_api: str, card: Parties, clock: ManualClock, settings: Settings
) -> None:
    """The acceptance was recorded but its capture never reached Stripe (a crash, Stripe down): the
    `payments.settle` job captures it, once however often it runs."""
    booking = await paid_booking(api, stripe_api, card, clock.now())
    who = await actors(card)
    await booking_service.perform(booking.request_id, RequestEvent.accept, who["provider"], clock.now())
    assert (await stripe_intent(stripe_api, booking.payment_intent_id))["status"] == "requires_capture"
    await settle_sweep(settings, clock.now())
    await settle_sweep(settings, clock.now())
    intent = await stripe_intent(stripe_api, booking.payment_intent_id)
    assert intent["status"] == "succeeded" and intent["amount_received"] == booking.amount


async def test_the_settle_sweep_pages_through_every_booking_it_owes(
    api: httpx.AsyncClient, stripe_api: str, card: Parties, clock: ManualClock, settings: Settings
) -> None:
    bookings = [await paid_booking(api, stripe_api, card, clock.now(), amount=3000 + i) for i in range(3)]
    clock.advance(timedelta(hours=48))
    await booking_service.sweep_due(clock.now())
    executed = await settlement.sweep(stripe_client(settings), clock.now(), batch_size=1)
    assert executed == 3
    for booking in bookings:
        assert (await stripe_intent(stripe_api, booking.payment_intent_id))["status"] == "canceled"
    assert await settlement.sweep(stripe_client(settings), clock.now(), batch_size=1) == 0


async def test_a_late_cancellation_of_an_acceptance_never_captured_keeps_the_policys_share_once(
    api: httpx.AsyncClient, stripe_api: str, card: Parties, clock: ManualClock, settings: Settings
) -> None:
    """Accepted, but the capture never reached Stripe (a crash); then the customer cancels late. Only the
    kept half is captured, with the fee in proportion, and nothing is refunded on top, however often the
    settlement runs afterwards."""
    start = clock.now() + timedelta(hours=12)
    window = {"start": start.isoformat(), "end": (start + timedelta(hours=2)).isoformat()}
    booking = await paid_booking(api, stripe_api, card, clock.now(), amount=12000, window=window)
    who = await actors(card)
    await booking_service.perform(booking.request_id, RequestEvent.accept, who["provider"], clock.now())
    cancelled = await act(api, card.customer, booking, "cancel", reason="Plans changed.")
    assert cancelled.status_code == 200, cancelled.text
    for _ in range(2):
        await settle_sweep(settings, clock.now())
    intent = await stripe_intent(stripe_api, booking.payment_intent_id)
    assert intent["amount_received"] == 6000
    assert await stripe_refunds(stripe_api, booking.payment_intent_id) == []
    charge = await stripe_get(stripe_api, f"/v1/charges/{intent['latest_charge']}")
    fee = await stripe_get(stripe_api, f"/v1/application_fees/{charge['application_fee']}")
    assert fee["amount"] == 900  # 15 % of what was taken, as on the normal path (1800 less 900 refunded)
    assert [(i.action, i.amount) for i in await instructions(booking)] == [(PaymentAction.capture, 6000)]


async def test_no_payment_starts_after_the_response_deadline(
    api: httpx.AsyncClient, card: Parties, clock: ManualClock
) -> None:
    booking = await card_booking(api, card, clock.now())
    clock.advance(timedelta(hours=48))
    late = await api.post(f"{API}/requests/{booking.request_id}/payment", headers=card.customer.bearer)
    assert late.status_code == 409 and late.json()["error"]["code"] == "payment_closed", late.text


async def test_a_deleted_customers_authorisation_is_released_and_cannot_be_captured(
    api: httpx.AsyncClient, stripe_api: str, card: Parties, clock: ManualClock, settings: Settings
) -> None:
    booking = await paid_booking(api, stripe_api, card, clock.now())
    deleted = await api.request(
        "DELETE", f"{API}/account", json={"password": PASSWORD}, headers=card.customer.bearer
    )
    assert deleted.status_code == 204, deleted.text
    accept = await act(api, card.provider, booking, "accept")
    assert accept.status_code == 409 and accept.json()["error"]["details"]["state"] == "cancelled"
    await settle_sweep(settings, clock.now())
    assert (await stripe_intent(stripe_api, booking.payment_intent_id))["status"] == "canceled"
