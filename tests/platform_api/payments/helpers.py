"""Payments test helpers: an onboarded provider, a card-paid booking, and Stripe's events about an object
read from the stand-in and delivered signed — in Stripe's order, or any other."""

import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from beanie import PydanticObjectId

from platform_api.billing.stripe_api import stripe_client
from platform_api.config import Settings
from platform_api.payments import settlement
from scripts.stripe_fake.control import confirm_payment, onboard_account
from shared_models.documents import ServiceRequest
from shared_models.documents.payments import BookingPayment, PaymentInstruction
from tests.factories import API, Account, deliver
from tests.platform_api.billing.helpers import stripe_get
from tests.platform_api.bookings.helpers import Parties, request_payload

Json = dict[str, Any]


def _about(event: Json, ids: set[str]) -> bool:
    obj = event["data"]["object"]
    related = {obj.get("id"), obj.get("payment_intent"), obj.get("account"), event.get("account")}
    return bool(related & ids)


async def stripe_events(stripe_api: str, about: set[str]) -> list[Json]:
    """Every event Stripe (the stand-in) has about these objects (an account, a PaymentIntent: its charges
    and refunds too), oldest first."""
    found: list[Json] = []
    params: dict[str, Any] = {"limit": 100}
    async with httpx.AsyncClient(base_url=stripe_api, timeout=30) as client:
        while True:
            page = await client.get(
                "/v1/events", params=params, headers={"Authorization": "Bearer sk_test_x"}
            )
            page.raise_for_status()
            body = page.json()
            found += [e for e in body["data"] if _about(e, about)]
            if not body["has_more"]:
                break
            params["starting_after"] = body["data"][-1]["id"]
    return list(reversed(found))


async def deliver_all(api: httpx.AsyncClient, events: list[Json], seed: int | None = None) -> list[Json]:
    """Deliver each event signed, in Stripe's order or (with `seed`) shuffled; each must be accepted."""
    ordered = list(events)
    if seed is not None:
        random.Random(seed).shuffle(ordered)
    for event in ordered:
        response = await deliver(api, event)
        assert response.status_code == 200, response.text
    return ordered


async def catch_up(api: httpx.AsyncClient, stripe_api: str, about: set[str], seed: int | None = None) -> None:
    """Deliver every event Stripe has about these objects (a redelivery of one already seen is a no-op)."""
    await deliver_all(api, await stripe_events(stripe_api, about), seed)


async def connected_account_id(api: httpx.AsyncClient, provider: Account) -> str:
    response = await api.post(f"{API}/payments/account-link", headers=provider.bearer)
    assert response.status_code == 200, response.text
    account = await api.get(f"{API}/payments/account", headers=provider.bearer)
    assert account.status_code == 200, account.text
    account_id: str = account.json()["stripe_account_id"]
    return account_id


async def onboard(api: httpx.AsyncClient, stripe_api: str, provider: Account) -> str:
    """The provider finishes Stripe onboarding and Stripe's `account.updated` reaches us: charges enabled."""
    account_id = await connected_account_id(api, provider)
    await onboard_account(stripe_api, account_id)
    await catch_up(api, stripe_api, {account_id})
    account = await api.get(f"{API}/payments/account", headers=provider.bearer)
    assert account.json()["charges_enabled"] is True, account.text
    return account_id


@dataclass
class CardBooking:
    request_id: str
    payment_intent_id: str
    amount: int


async def card_booking(
    api: httpx.AsyncClient, p: Parties, now: datetime, amount: int = 12000, **overrides: Any
) -> CardBooking:
    """A booking of an onboarded provider, requested with a price: card-paid, its payment not started."""
    payload = request_payload(
        p.provider_id, now, quote={"amount_minor": amount, "currency": "GBP"}, **overrides
    )
    created = await api.post(f"{API}/requests", json=payload, headers=p.customer.bearer)
    assert created.status_code == 201, created.text
    assert created.json()["payment_required"] is True
    return CardBooking(created.json()["id"], "", amount)


async def start_payment(api: httpx.AsyncClient, p: Parties, booking: CardBooking) -> Json:
    started = await api.post(f"{API}/requests/{booking.request_id}/payment", headers=p.customer.bearer)
    assert started.status_code == 200, started.text
    body: Json = started.json()
    booking.payment_intent_id = body["stripe_payment_intent_id"]
    return body


async def paid_booking(
    api: httpx.AsyncClient, stripe_api: str, p: Parties, now: datetime, amount: int = 12000, **overrides: Any
) -> CardBooking:
    """A card-paid booking whose payment the customer authorised (the app confirmed it with the client
    secret) and whose webhooks reached us: ready to be accepted."""
    booking = await card_booking(api, p, now, amount, **overrides)
    body = await start_payment(api, p, booking)
    assert body["client_secret"].startswith(booking.payment_intent_id)
    await confirm_payment(stripe_api, booking.payment_intent_id)
    await catch_up(api, stripe_api, {booking.payment_intent_id})
    assert (await payment_of(api, p.customer, booking))["status"] == "requires_capture"
    return booking


async def payment_of(api: httpx.AsyncClient, who: Account, booking: CardBooking) -> Json:
    response = await api.get(f"{API}/requests/{booking.request_id}/payment", headers=who.bearer)
    assert response.status_code == 200, response.text
    body: Json = response.json()
    return body


async def act(
    api: httpx.AsyncClient, who: Account, booking: CardBooking, event: str, **body: Any
) -> httpx.Response:
    return await api.post(
        f"{API}/requests/{booking.request_id}/{event}", json=body or None, headers=who.bearer
    )


async def stripe_intent(stripe_api: str, intent_id: str) -> Json:
    return await stripe_get(stripe_api, f"/v1/payment_intents/{intent_id}")


async def stripe_refunds(stripe_api: str, intent_id: str) -> list[Json]:
    refunds: list[Json] = (await stripe_get(stripe_api, f"/v1/refunds?payment_intent={intent_id}&limit=100"))[
        "data"
    ]
    return refunds


async def instructions(booking: CardBooking) -> list[PaymentInstruction]:
    return await PaymentInstruction.find(PaymentInstruction.request_id == booking.request_id).to_list()


async def stored_payment(booking: CardBooking) -> BookingPayment:
    found = await BookingPayment.find_one(
        BookingPayment.stripe_payment_intent_id == booking.payment_intent_id
    )
    assert found is not None
    return found


async def settle_sweep(settings: Settings, now: datetime) -> int:
    """What the `payments.settle` job does each minute."""
    return await settlement.sweep(stripe_client(settings), now)


async def stored_booking(booking: CardBooking) -> ServiceRequest:
    found = await ServiceRequest.get(PydanticObjectId(booking.request_id))
    assert found is not None
    return found
