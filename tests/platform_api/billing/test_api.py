"""Billing REST: checkout and portal sessions, the read-only subscription, who may call what, and the
absence of any way to change a tier but through Stripe."""

from typing import Any

import httpx
from fastapi import FastAPI

from shared_models.enums import Role
from tests.conftest import ClientFactory
from tests.factories import API, Account, checkout, register, subscribe
from tests.platform_api.billing.helpers import stripe_get


async def test_checkout_returns_stripes_url_and_reuses_one_customer(
    api: httpx.AsyncClient, stripe_api: str
) -> None:
    provider = await register(api, Role.provider)
    first, _ = await checkout(api, provider, "pro")
    second, _ = await checkout(api, provider, "basic")  # changed their mind before paying
    sessions = [await stripe_get(stripe_api, f"/v1/checkout/sessions/{s}") for s in (first, second)]
    assert sessions[0]["customer"] == sessions[1]["customer"]
    assert all(s["mode"] == "subscription" and s["metadata"]["provider_id"] for s in sessions)
    customer = await stripe_get(stripe_api, f"/v1/customers/{sessions[0]['customer']}")
    assert customer["email"] == provider.email
    assert customer["metadata"]["provider_id"] == provider.body["provider"]["id"]


async def test_the_subscription_is_read_only_state_confirmed_by_stripe(api: httpx.AsyncClient) -> None:
    provider = await register(api, Role.provider)
    before = (await api.get(f"{API}/billing/subscription", headers=provider.bearer)).json()
    assert before["status"] == "none" and before["accepts_requests"] is False and before["tier"] is None
    await checkout(api, provider, "premium")
    unpaid = (await api.get(f"{API}/billing/subscription", headers=provider.bearer)).json()
    assert unpaid["status"] == "none"  # a checkout session alone changes nothing

    await subscribe(api, provider, "premium")
    after = (await api.get(f"{API}/billing/subscription", headers=provider.bearer)).json()
    assert after["status"] == "active" and after["tier"] == "premium" and after["accepts_requests"] is True
    assert after["entitlements"]["badge"] == "premium" and after["current_period_end"] is not None


async def test_a_subscribed_provider_is_sent_to_the_portal_not_a_second_checkout(
    api: httpx.AsyncClient,
) -> None:
    provider = await register(api, Role.provider)
    none_yet = await api.post(f"{API}/billing/portal-session", headers=provider.bearer)
    assert none_yet.status_code == 409 and none_yet.json()["error"]["code"] == "no_billing_account"
    await subscribe(api, provider, "basic")
    again = await api.post(f"{API}/billing/checkout-session", json={"tier": "pro"}, headers=provider.bearer)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_subscribed"
    portal = await api.post(f"{API}/billing/portal-session", headers=provider.bearer)
    assert portal.status_code == 200 and "/portal/" in portal.json()["url"]


async def test_bad_tiers_and_unsold_tiers_are_typed_422s(
    api: httpx.AsyncClient, platform_app: FastAPI
) -> None:
    provider = await register(api, Role.provider)
    for body in ({"tier": "gold"}, {"tier": "unknown"}, {}, {"tier": "pro", "price": "price_x"}):
        response = await api.post(f"{API}/billing/checkout-session", json=body, headers=provider.bearer)
        assert response.status_code == 422 and response.json()["error"]["code"] == "validation_error", body
    platform_app.state.settings.stripe_price_tier_premium = None  # the slot is empty: not on sale
    unsold = await api.post(
        f"{API}/billing/checkout-session", json={"tier": "premium"}, headers=provider.bearer
    )
    assert unsold.status_code == 422 and unsold.json()["error"] == {
        "code": "tier_unavailable",
        "message": "The premium tier is not on sale.",
        "field": "tier",
    }


async def test_only_providers_use_billing(api: httpx.AsyncClient, api_factory: ClientFactory) -> None:
    customer = await register(api, Role.customer)
    anonymous_client = api_factory()
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", "/billing/checkout-session", {"tier": "basic"}),
        ("POST", "/billing/portal-session", None),
        ("GET", "/billing/subscription", None),
    ]
    for method, path, body in calls:
        anonymous = await anonymous_client.request(method, f"{API}{path}", json=body)
        assert anonymous.status_code == 401, path
        as_customer = await api.request(method, f"{API}{path}", json=body, headers=customer.bearer)
        assert as_customer.status_code == 403, path


async def test_no_api_call_changes_a_tier_directly(api: httpx.AsyncClient, platform_app: FastAPI) -> None:
    spec = platform_app.openapi()
    schemas = spec["components"]["schemas"]

    def properties(ref_or_schema: dict[str, Any]) -> set[str]:
        schema = schemas[ref_or_schema["$ref"].split("/")[-1]] if "$ref" in ref_or_schema else ref_or_schema
        found = set(schema.get("properties", {}))
        for option in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
            found |= properties(option)
        return found

    writes_tier = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            names = properties(body["schema"]) if "schema" in body else set()
            if names & {"tier", "status", "price_id", "cancel_at_period_end", "current_period_end"}:
                writes_tier.append(f"{method.upper()} {path}")
    # Choosing a tier to *pay for* at Checkout is the one body that names a tier; it changes no state.
    assert writes_tier == [f"POST {API}/billing/checkout-session"]
    provider: Account = await register(api, Role.provider)
    for method in ("PUT", "PATCH", "POST", "DELETE"):
        response = await api.request(
            method, f"{API}/billing/subscription", json={"tier": "premium"}, headers=provider.bearer
        )
        assert response.status_code == 405, method
