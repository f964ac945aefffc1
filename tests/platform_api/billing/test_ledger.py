"""The webhook ledger for admins: every delivery raw with its outcome, and re-processing one through the
same handler."""

import httpx
import pytest
from fastapi import FastAPI

from shared_models.clock import ManualClock
from shared_models.documents import OutboxEvent, WebhookDelivery
from shared_models.enums import Role
from tests.factories import API, Account, deliver, make_admin, register, signed
from tests.platform_api.billing.helpers import paid_checkout, stored, stripe_unreachable


@pytest.fixture
async def admin(api: httpx.AsyncClient, clock: ManualClock) -> Account:
    return await make_admin(api, clock)


async def test_admins_read_every_delivery_raw_with_its_outcome(
    api: httpx.AsyncClient, admin: Account
) -> None:
    provider = await register(api, Role.provider)
    events = await paid_checkout(api, provider)
    payload, _ = signed(events[0])
    forged = await api.post(
        f"{API}/billing/webhook", content=payload, headers={"Stripe-Signature": "t=1,v1=00"}
    )
    assert forged.status_code == 400
    for event in [events[0], events[0]]:
        await deliver(api, event)

    page = (await api.get(f"{API}/admin/billing/webhooks", headers=admin.bearer)).json()
    assert [d["outcome"] for d in page["items"]] == ["duplicate", "processed", "rejected"]  # newest first
    rejected = (
        await api.get(f"{API}/admin/billing/webhooks", params={"outcome": "rejected"}, headers=admin.bearer)
    ).json()["items"]
    assert len(rejected) == 1 and rejected[0]["signature_valid"] is False
    detail = (await api.get(f"{API}/admin/billing/webhooks/{rejected[0]['id']}", headers=admin.bearer)).json()
    assert detail["body"] == payload and detail["headers"]["stripe-signature"] == "t=1,v1=00"

    one = (await api.get(f"{API}/admin/billing/webhooks", params={"limit": 1}, headers=admin.bearer)).json()
    rest = await api.get(
        f"{API}/admin/billing/webhooks", params={"cursor": one["next_cursor"]}, headers=admin.bearer
    )
    assert [d["id"] for d in one["items"] + rest.json()["items"]] == [d["id"] for d in page["items"]]


async def test_a_failed_delivery_is_reprocessed_through_the_same_handler(
    api: httpx.AsyncClient, platform_app: FastAPI, admin: Account
) -> None:
    provider = await register(api, Role.provider)
    events = await paid_checkout(api, provider)
    with stripe_unreachable(platform_app):
        assert (await deliver(api, events[0])).status_code == 503
    failed = await WebhookDelivery.find_one(WebhookDelivery.outcome == "failed")
    assert failed is not None and failed.traceback and await stored(provider) is None

    url = f"{API}/admin/billing/webhooks/{failed.id}/reprocess"
    again = await api.post(url, headers=admin.bearer)
    assert again.status_code == 200 and again.json()["outcome"] == "processed", again.text
    view = await stored(provider)
    assert view is not None and view.status == "active"
    redo = await api.post(url, headers=admin.bearer)  # forced through the handler again: still one effect
    assert redo.status_code == 200
    assert await OutboxEvent.find({"aggregate_id": provider.body["provider"]["id"]}).count() == 1
    entries = await WebhookDelivery.find(WebhookDelivery.reprocess_of == str(failed.id)).to_list()
    assert [e.source for e in entries] == ["reprocess", "reprocess"]


async def test_a_forged_delivery_is_never_reprocessed(api: httpx.AsyncClient, admin: Account) -> None:
    provider = await register(api, Role.provider)
    events = await paid_checkout(api, provider)
    payload, _ = signed(events[0], secret="whsec_attacker_0123456789abcdef")
    await api.post(f"{API}/billing/webhook", content=payload, headers={"Stripe-Signature": "t=1,v1=00"})
    forged = await WebhookDelivery.find_one(WebhookDelivery.outcome == "rejected")
    assert forged is not None
    refused = await api.post(f"{API}/admin/billing/webhooks/{forged.id}/reprocess", headers=admin.bearer)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "unverified_delivery"
    assert await stored(provider) is None
    missing = await api.post(f"{API}/admin/billing/webhooks/{'0' * 24}/reprocess", headers=admin.bearer)
    assert missing.status_code == 404


async def test_billing_admin_routes_are_admin_only(api: httpx.AsyncClient, admin: Account) -> None:
    provider = await register(api, Role.provider)
    customer = await register(api, Role.customer)
    provider_id = provider.body["provider"]["id"]
    routes = [
        ("GET", "/admin/billing/webhooks"),
        ("GET", f"/admin/billing/webhooks/{'0' * 24}"),
        ("POST", f"/admin/billing/webhooks/{'0' * 24}/reprocess"),
        ("GET", f"/admin/providers/{provider_id}/subscription"),
    ]
    for method, path in routes:
        for outsider in (provider, customer):
            response = await api.request(method, f"{API}{path}", headers=outsider.bearer)
            assert response.status_code == 403, (path, outsider.role)
    view = await api.get(f"{API}/admin/providers/{provider_id}/subscription", headers=admin.bearer)
    assert view.status_code == 200 and view.json()["status"] == "none"
