"""The money flow end to end through the real processes: the platform under uvicorn, the Stripe stand-in
delivering its signed webhooks to it by itself (as Stripe does), the engine. Nothing is delivered by hand:
the test waits for the stand-in's delivery queue to drain (`flush_webhooks`), never sleeps."""

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from scripts.stripe_fake.control import confirm_payment, flush_webhooks, onboard_account
from shared_models.enums import Role
from tests.conftest import LiveStack, live_admin
from tests.factories import API, Account, register, register_subscribed
from tests.platform_api.bookings.helpers import request_payload
from tests.platform_api.payments.helpers import stripe_events, stripe_refunds

pytestmark = pytest.mark.e2e


async def delivered(stack: LiveStack) -> list[dict[str, Any]]:
    """Wait until the stand-in sent everything queued; each delivery must have been accepted."""
    sent = await flush_webhooks(stack.stripe_api)
    assert all(d["status"] == 200 for d in sent), sent
    return sent


async def card_parties(client: httpx.AsyncClient, stack: LiveStack) -> tuple[Account, Account]:
    customer = await register(client, Role.customer)
    provider = await register_subscribed(client)
    assert (await client.post(f"{API}/payments/account-link", headers=provider.bearer)).status_code == 200
    account = (await client.get(f"{API}/payments/account", headers=provider.bearer)).json()
    await onboard_account(stack.stripe_api, account["stripe_account_id"])
    await delivered(stack)
    account = (await client.get(f"{API}/payments/account", headers=provider.bearer)).json()
    assert account["charges_enabled"] is True, account
    return customer, provider


async def authorised_booking(
    client: httpx.AsyncClient, stack: LiveStack, customer: Account, provider: Account, amount: int
) -> tuple[str, str]:
    payload = request_payload(
        provider.body["provider"]["id"], datetime.now(UTC), quote={"amount_minor": amount, "currency": "GBP"}
    )
    created = await client.post(f"{API}/requests", json=payload, headers=customer.bearer)
    assert created.status_code == 201 and created.json()["payment_required"], created.text
    rid = created.json()["id"]
    started = await client.post(f"{API}/requests/{rid}/payment", headers=customer.bearer)
    assert started.status_code == 200, started.text
    intent_id = started.json()["stripe_payment_intent_id"]
    await confirm_payment(stack.stripe_api, intent_id)
    await delivered(stack)
    payment = (await client.get(f"{API}/requests/{rid}/payment", headers=provider.bearer)).json()
    assert payment["status"] == "requires_capture" and payment["amount_capturable"] == amount
    return rid, intent_id


async def test_request_pay_accept_complete_confirm_through_the_real_processes(live_stack: LiveStack) -> None:
    async with httpx.AsyncClient(base_url=live_stack.platform_url, timeout=60) as client:
        customer, provider = await card_parties(client, live_stack)
        rid, intent_id = await authorised_booking(client, live_stack, customer, provider, 15000)
        accepts = await asyncio.gather(
            *(client.post(f"{API}/requests/{rid}/accept", headers=provider.bearer) for _ in range(10))
        )
        assert sorted(r.status_code for r in accepts) == [200] + [409] * 9
        for event in ("complete", "confirm"):
            who = provider if event == "complete" else customer
            assert (await client.post(f"{API}/requests/{rid}/{event}", headers=who.bearer)).status_code == 200
        await delivered(live_stack)
        payment = (await client.get(f"{API}/requests/{rid}/payment", headers=customer.bearer)).json()
    assert payment["status"] == "succeeded" and payment["amount_received"] == 15000
    assert payment["application_fee_amount"] == 2250 and payment["amount_refunded"] == 0
    assert [(i["action"], i["amount"]) for i in payment["instructions"]] == [("capture", 15000)]
    events = [e["type"] for e in await stripe_events(live_stack.stripe_api, {intent_id})]
    assert events.count("payment_intent.succeeded") == 1 and events.count("charge.captured") == 1


async def test_a_partial_dispute_refund_through_the_real_processes(live_stack: LiveStack) -> None:
    admin = live_admin(live_stack)
    async with httpx.AsyncClient(base_url=live_stack.platform_url, timeout=60) as client:
        customer, provider = await card_parties(client, live_stack)
        rid, intent_id = await authorised_booking(client, live_stack, customer, provider, 9000)
        assert (await client.post(f"{API}/requests/{rid}/accept", headers=provider.bearer)).status_code == 200
        assert (
            await client.post(f"{API}/requests/{rid}/complete", headers=provider.bearer)
        ).status_code == 200
        opened = await client.post(
            f"{API}/requests/{rid}/dispute",
            json={"category": "poor_quality", "statement": "The garden was only half done."},
            headers=customer.bearer,
        )
        assert opened.status_code == 201, opened.text
        decision = {
            "outcome": "split",
            "refund": {"kind": "partial", "amount_minor": 2000},
            "note": "Half done.",
        }
        answers = await asyncio.gather(
            *(
                client.post(
                    f"{API}/admin/disputes/{opened.json()['id']}/resolve", json=decision, headers=admin.bearer
                )
                for _ in range(8)
            )
        )
        assert sorted(a.status_code for a in answers) == [200] + [409] * 7, [a.text for a in answers]
        await delivered(live_stack)
        payment = (await client.get(f"{API}/requests/{rid}/payment", headers=customer.bearer)).json()
        view = (await client.get(f"{API}/admin/disputes/{opened.json()['id']}", headers=admin.bearer)).json()
    assert payment["amount_refunded"] == 2000 and [r["amount"] for r in payment["refunds"]] == [2000]
    assert [r["amount"] for r in await stripe_refunds(live_stack.stripe_api, intent_id)] == [2000]
    assert view["payment"]["amount_refunded"] == 2000 and view["payment"]["amount_received"] == 9000


async def test_an_unpaid_authorisation_is_released_when_the_provider_declines(live_stack: LiveStack) -> None:
    async with httpx.AsyncClient(base_url=live_stack.platform_url, timeout=60) as client:
        customer, provider = await card_parties(client, live_stack)
        rid, _ = await authorised_booking(client, live_stack, customer, provider, 4000)
        assert (
            await client.post(f"{API}/requests/{rid}/decline", headers=provider.bearer)
        ).status_code == 200
        await delivered(live_stack)
        payment = (await client.get(f"{API}/requests/{rid}/payment", headers=customer.bearer)).json()
    assert payment["status"] == "canceled" and payment["amount_received"] == 0
    assert [i["action"] for i in payment["instructions"]] == ["release"]
