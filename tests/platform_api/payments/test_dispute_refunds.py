"""A dispute's decision executes its refund on Stripe exactly once — under retried and concurrent resolution
calls, the settle sweep running beside them, and Stripe's webhooks arriving shuffled and twice — and shows as
refunded only once Stripe's webhook said so."""

import asyncio
from datetime import timedelta

import httpx
import pytest

from platform_api.billing.stripe_api import stripe_client
from platform_api.config import Settings
from platform_api.disputes.service import dispute_service
from platform_api.payments import settlement
from shared_models.clock import ManualClock
from shared_models.documents import DisputeOutcome, RefundKind, User
from shared_models.documents.payments import PaymentAction
from tests.factories import API, Account, make_admin
from tests.platform_api.billing.helpers import stripe_get
from tests.platform_api.bookings.helpers import Parties
from tests.platform_api.payments.helpers import (
    CardBooking,
    act,
    catch_up,
    instructions,
    paid_booking,
    payment_of,
    settle_sweep,
    stored_booking,
    stripe_events,
    stripe_refunds,
)


async def disputed(
    api: httpx.AsyncClient, stripe_api: str, p: Parties, clock: ManualClock
) -> tuple[CardBooking, str]:
    booking = await paid_booking(api, stripe_api, p, clock.now(), amount=20000)
    assert (await act(api, p.provider, booking, "accept")).status_code == 200
    assert (await act(api, p.provider, booking, "complete")).status_code == 200
    opened = await api.post(
        f"{API}/requests/{booking.request_id}/dispute",
        json={"category": "poor_quality", "statement": "Half the rooms were not cleaned."},
        headers=p.customer.bearer,
    )
    assert opened.status_code == 201, opened.text
    return booking, opened.json()["id"]


async def resolve(api: httpx.AsyncClient, admin: Account, dispute_id: str, amount: int) -> httpx.Response:
    return await api.post(
        f"{API}/admin/disputes/{dispute_id}/resolve",
        json={
            "outcome": "split",
            "refund": {"kind": "partial", "amount_minor": amount},
            "note": "Half the work.",
        },
        headers=admin.bearer,
    )


@pytest.mark.parametrize("seed", [1, 2])
async def test_a_partial_refund_is_made_once_under_concurrent_and_retried_resolution(
    api: httpx.AsyncClient, stripe_api: str, card: Parties, clock: ManualClock, settings: Settings, seed: int
) -> None:
    booking, dispute_id = await disputed(api, stripe_api, card, clock)
    admins = [await make_admin(api, clock) for _ in range(2)]
    answers = await asyncio.gather(
        *(resolve(api, admins[i % 2], dispute_id, 7350) for i in range(6)),
        settle_sweep(settings, clock.now()),
    )
    statuses = sorted(a.status_code for a in answers if isinstance(a, httpx.Response))
    assert statuses.count(200) == 1 and set(statuses) <= {200, 409}, statuses
    # Retried after the fact, and the sweep again: still one refund.
    assert (await resolve(api, admins[0], dispute_id, 7350)).status_code == 409
    await settle_sweep(settings, clock.now() + timedelta(minutes=5))

    refunds = await stripe_refunds(stripe_api, booking.payment_intent_id)
    assert [(r["amount"], r["metadata"]["purpose"]) for r in refunds] == [(7350, "dispute_resolution")]
    refunds_made = [
        e
        for e in await stripe_events(stripe_api, {booking.payment_intent_id})
        if e["type"] == "refund.created"
    ]
    assert len(refunds_made) == 1
    assert [(i.action, i.amount) for i in await instructions(booking)] == [
        (PaymentAction.capture, 20000),
        (PaymentAction.refund, 7350),
    ]
    # The provider's transfer and the platform's fee are reversed in proportion (7350 / 20000).
    intent = await stripe_get(stripe_api, f"/v1/payment_intents/{booking.payment_intent_id}")
    charge = await stripe_get(stripe_api, f"/v1/charges/{intent['latest_charge']}")
    fee = await stripe_get(stripe_api, f"/v1/application_fees/{charge['application_fee']}")
    assert (
        fee["amount"] == 3000 and fee["amount_refunded"] == 1103
    )  # 3000 * 7350 / 20000 = 1102.5, rounded half up
    transfer = await stripe_get(stripe_api, f"/v1/transfers/{charge['transfer']}")
    assert transfer["amount_reversed"] == round(transfer["amount"] * 7350 / 20000)

    # Decided and sent, but not refunded until Stripe's webhook says so.
    before = await payment_of(api, card.customer, booking)
    assert before["amount_refunded"] == 0 and before["refunds"] == []
    assert before["instructions"][-1]["executed_at"] is not None
    # Stripe's events shuffled, then all of them again.
    await catch_up(api, stripe_api, {booking.payment_intent_id}, seed=seed)
    await catch_up(api, stripe_api, {booking.payment_intent_id}, seed=seed + 10)
    after = await payment_of(api, card.provider, booking)
    assert after["amount_refunded"] == 7350 and after["amount_received"] == 20000
    assert [(r["amount"], r["status"]) for r in after["refunds"]] == [(7350, "succeeded")]

    # The admin's dispute view shows what was paid and refunded.
    view = await api.get(f"{API}/admin/disputes/{dispute_id}", headers=admins[0].bearer)
    assert view.status_code == 200, view.text
    assert view.json()["payment"]["amount_received"] == 20000
    assert view.json()["payment"]["amount_refunded"] == 7350


async def test_a_decision_for_the_provider_refunds_nothing(
    api: httpx.AsyncClient, stripe_api: str, card: Parties, clock: ManualClock
) -> None:
    booking, dispute_id = await disputed(api, stripe_api, card, clock)
    admin = await make_admin(api, clock)
    decided = await api.post(
        f"{API}/admin/disputes/{dispute_id}/resolve",
        json={"outcome": "provider_favoured", "note": "The work was done as agreed."},
        headers=admin.bearer,
    )
    assert decided.status_code == 200, decided.text
    assert await stripe_refunds(stripe_api, booking.payment_intent_id) == []
    assert [i.action for i in await instructions(booking)] == [PaymentAction.capture]


async def test_a_full_refund_after_a_dispute_returns_all_of_it(
    api: httpx.AsyncClient, stripe_api: str, card: Parties, clock: ManualClock
) -> None:
    booking, dispute_id = await disputed(api, stripe_api, card, clock)
    admin = await make_admin(api, clock)
    decided = await api.post(
        f"{API}/admin/disputes/{dispute_id}/resolve",
        json={"outcome": "customer_favoured", "refund": {"kind": "full"}, "note": "Not done at all."},
        headers=admin.bearer,
    )
    assert decided.status_code == 200, decided.text
    assert [r["amount"] for r in await stripe_refunds(stripe_api, booking.payment_intent_id)] == [20000]
    await catch_up(api, stripe_api, {booking.payment_intent_id}, seed=5)
    shown = await payment_of(api, card.customer, booking)
    assert shown["amount_refunded"] == 20000


async def decided_without_settling(
    api: httpx.AsyncClient, stripe_api: str, p: Parties, clock: ManualClock, amount: int
) -> CardBooking:
    """The decision is recorded but its refund not yet sent (a crash right after it, or Stripe down)."""
    booking, dispute_id = await disputed(api, stripe_api, p, clock)
    admin = await make_admin(api, clock)
    dispute = await dispute_service.get(dispute_id)
    user = await User.get(admin.id)
    assert dispute is not None and user is not None
    await dispute_service.resolve(
        dispute, user, DisputeOutcome.split_costs, (RefundKind.partial, amount), "Half the work.", clock.now()
    )
    return booking


async def test_concurrent_executions_of_one_refund_make_one_refund(
    api: httpx.AsyncClient, stripe_api: str, card: Parties, clock: ManualClock, settings: Settings
) -> None:
    booking = await decided_without_settling(api, stripe_api, card, clock, 4100)
    assert await stripe_refunds(stripe_api, booking.payment_intent_id) == []
    request = await stored_booking(booking)
    client = stripe_client(settings)
    await asyncio.gather(*(settlement.settle(request, client, clock.now()) for _ in range(5)))
    refunds = await stripe_refunds(stripe_api, booking.payment_intent_id)
    assert [r["amount"] for r in refunds] == [4100]
    executed = [i for i in await instructions(booking) if i.action is PaymentAction.refund]
    assert len(executed) == 1 and executed[0].stripe_object_id == refunds[0]["id"]


async def test_a_refund_stripe_already_made_is_not_made_again(
    api: httpx.AsyncClient, stripe_api: str, card: Parties, clock: ManualClock, settings: Settings
) -> None:
    """Stripe made the refund but we crashed before recording it, and Stripe has since forgotten the
    idempotency key (it keeps them 24 h): the refund is found by its metadata, not made twice."""
    booking = await decided_without_settling(api, stripe_api, card, clock, 2500)
    client = stripe_client(settings)
    key = f"{booking.request_id}:refund"
    made = await client.v1.refunds.create_async(
        params={
            "payment_intent": booking.payment_intent_id,
            "amount": 2500,
            "metadata": {
                "request_id": booking.request_id,
                "instruction": key,
                "purpose": "dispute_resolution",
            },
        }
    )
    await settle_sweep(settings, clock.now())
    refunds = await stripe_refunds(stripe_api, booking.payment_intent_id)
    assert [r["id"] for r in refunds] == [made.id]
    refund = next(i for i in await instructions(booking) if i.action is PaymentAction.refund)
    assert refund.executed_at is not None and refund.stripe_object_id == made.id
