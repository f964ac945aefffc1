"""Providers as Stripe Connect Express accounts: onboarding gates card payments and acceptance, and only
Stripe's `account.updated` webhook says what an account can do."""

import asyncio

import httpx

from scripts.stripe_fake.control import restrict_account
from shared_models.clock import ManualClock
from shared_models.documents.payments import ConnectedAccount
from tests.factories import API
from tests.platform_api.billing.helpers import stripe_get
from tests.platform_api.bookings.helpers import make_parties, request_payload
from tests.platform_api.payments.helpers import (
    act,
    catch_up,
    connected_account_id,
    onboard,
    paid_booking,
)


async def test_onboarding_starts_an_express_account_and_only_the_webhook_enables_it(
    api: httpx.AsyncClient, stripe_api: str
) -> None:
    p = await make_parties(api)
    none_yet = await api.get(f"{API}/payments/account", headers=p.provider.bearer)
    assert none_yet.status_code == 409 and none_yet.json()["error"]["code"] == "no_connected_account"
    # Concurrent first calls make one Stripe account and one record.
    links = await asyncio.gather(
        *(api.post(f"{API}/payments/account-link", headers=p.provider.bearer) for _ in range(3))
    )
    assert all(link.status_code == 200 for link in links), [link.text for link in links]
    assert all(link.json()["url"].startswith(stripe_api) for link in links)
    records = await ConnectedAccount.find(ConnectedAccount.provider_id == p.provider_id).to_list()
    assert len(records) == 1
    account = await stripe_get(stripe_api, f"/v1/accounts/{records[0].stripe_account_id}")
    assert account["type"] == "express" and account["metadata"]["provider_id"] == p.provider_id
    status = (await api.get(f"{API}/payments/account", headers=p.provider.bearer)).json()
    assert status["charges_enabled"] is False and status["details_submitted"] is False
    early = await api.post(f"{API}/payments/login-link", headers=p.provider.bearer)
    assert early.status_code == 409 and early.json()["error"]["code"] == "onboarding_incomplete"

    await onboard(api, stripe_api, p.provider)
    status = (await api.get(f"{API}/payments/account", headers=p.provider.bearer)).json()
    assert status["charges_enabled"] and status["payouts_enabled"] and status["requirements_due"] == []
    dashboard = await api.post(f"{API}/payments/login-link", headers=p.provider.bearer)
    assert dashboard.status_code == 200 and dashboard.json()["url"].startswith(stripe_api)


async def test_without_onboarding_bookings_are_not_card_paid(
    api: httpx.AsyncClient, stripe_api: str, clock: ManualClock
) -> None:
    p = await make_parties(api)
    await connected_account_id(api, p.provider)  # started, not finished: no charges yet
    created = await api.post(
        f"{API}/requests", json=request_payload(p.provider_id, clock.now()), headers=p.customer.bearer
    )
    assert created.status_code == 201 and created.json()["payment_required"] is False
    rid = created.json()["id"]
    refused = await api.post(f"{API}/requests/{rid}/payment", headers=p.customer.bearer)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_card_paid"


async def test_a_restricted_account_can_neither_take_payments_nor_accept_paid_bookings(
    api: httpx.AsyncClient, stripe_api: str, clock: ManualClock
) -> None:
    p = await make_parties(api)
    account_id = await onboard(api, stripe_api, p.provider)
    authorised = await paid_booking(api, stripe_api, p, clock.now())
    unpaid = await api.post(
        f"{API}/requests", json=request_payload(p.provider_id, clock.now()), headers=p.customer.bearer
    )
    assert unpaid.json()["payment_required"] is True

    await restrict_account(stripe_api, account_id)
    await catch_up(api, stripe_api, {account_id})
    status = (await api.get(f"{API}/payments/account", headers=p.provider.bearer)).json()
    assert status["charges_enabled"] is False and status["disabled_reason"] == "requirements.past_due"
    accept = await act(api, p.provider, authorised, "accept")
    assert accept.status_code == 409 and accept.json()["error"]["code"] == "charges_not_enabled"
    pay = await api.post(f"{API}/requests/{unpaid.json()['id']}/payment", headers=p.customer.bearer)
    assert pay.status_code == 409 and pay.json()["error"]["code"] == "charges_not_enabled"
    assert (await stripe_get(stripe_api, f"/v1/payment_intents/{authorised.payment_intent_id}"))[
        "status"
    ] == "requires_capture"
