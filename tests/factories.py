"""Factories: a valid account or payload in one call; a test states only what matters to it."""

import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from platform_api.config import Settings
from scripts.stripe_fake.control import complete_checkout
from scripts.stripe_fake.signing import signature_header
from shared_models.enums import Role

PASSWORD = "correct horse battery"
API = "/api/v1"
TEST_STRIPE_WEBHOOK_SECRET = "whsec_test_suite_only_0123456789abcdef0123456789"


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def register_payload(role: Role = Role.customer, **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "email": unique_email(role.value),
        "password": PASSWORD,
        "role": role.value,
        "display_name": f"Test {role.value}",
        "accepted_terms_version": Settings.model_fields["terms_version"].default,
        "accepted_privacy_version": Settings.model_fields["privacy_version"].default,
    }
    if role is Role.provider:
        payload["provider"] = {
            "business_name": "Sparkle Cleaning Co.",
            "categories": ["cleaning"],
            "service_area": {"lat": 51.5072, "lng": -0.1276, "radius_km": 10},
        }
    payload.update(overrides)
    return payload


@dataclass
class Account:
    id: str
    email: str
    role: Role
    token: str
    csrf_token: str
    body: dict[str, Any]

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def account_of(body: dict[str, Any]) -> Account:
    user = body["user"]
    return Account(
        id=user["id"],
        email=user["email"],
        role=Role(user["role"]),
        token=body["access_token"],
        csrf_token=body["csrf_token"],
        body=body,
    )


async def register(client: httpx.AsyncClient, role: Role = Role.customer, **overrides: Any) -> Account:
    response = await client.post(f"{API}/auth/register", json=register_payload(role, **overrides))
    assert response.status_code == 201, response.text
    return account_of(response.json())


def register_sync(client: httpx.Client, role: Role = Role.customer, **overrides: Any) -> Account:
    response = client.post(f"{API}/auth/register", json=register_payload(role, **overrides))
    assert response.status_code == 201, response.text
    return account_of(response.json())


def signed(
    event: dict[str, Any], secret: str = TEST_STRIPE_WEBHOOK_SECRET, timestamp: int | None = None
) -> tuple[str, dict[str, str]]:
    """An event's body and headers exactly as Stripe would deliver it."""
    payload = json.dumps(event)
    headers = {
        "Content-Type": "application/json",
        "Stripe-Signature": signature_header(payload, secret, timestamp),
    }
    return payload, headers


async def deliver(client: httpx.AsyncClient, event: dict[str, Any]) -> httpx.Response:
    payload, headers = signed(event)
    return await client.post(f"{API}/billing/webhook", content=payload, headers=headers)


async def checkout(client: httpx.AsyncClient, provider: Account, tier: str = "basic") -> tuple[str, str]:
    """A Checkout session for the provider: its id, and the base of the Stripe (stand-in) serving it."""
    response = await client.post(
        f"{API}/billing/checkout-session", json={"tier": tier}, headers=provider.bearer
    )
    assert response.status_code == 200, response.text
    body = response.json()
    url = urlsplit(body["url"])
    return body["session_id"], f"{url.scheme}://{url.netloc}"


async def subscribe(
    client: httpx.AsyncClient, provider: Account, tier: str = "basic"
) -> list[dict[str, Any]]:
    """The provider pays at the Checkout URL and Stripe's events reach the webhook: an active subscription."""
    session_id, stripe_base = await checkout(client, provider, tier)
    events = await complete_checkout(stripe_base, session_id)
    for event in events:
        response = await deliver(client, event)
        assert response.status_code == 200, response.text
    return events


async def register_subscribed(client: httpx.AsyncClient, tier: str = "basic", **overrides: Any) -> Account:
    """A provider who can take bookings (subscribed through the real Checkout → webhook path)."""
    provider = await register(client, Role.provider, **overrides)
    await subscribe(client, provider, tier)
    return provider


async def make_admin(client: httpx.AsyncClient, clock: Any, email: str | None = None) -> Account:
    """Admins are never self-registered: created by the service (as `scripts.create_admin` does), then logged in."""
    from platform_api.auth.service import auth_service

    email = email or unique_email("admin")
    await auth_service.create_admin(email, PASSWORD, "Admin", clock)
    response = await client.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return account_of(response.json())


async def login(client: httpx.AsyncClient, account: Account) -> Account:
    """A fresh session for the account (e.g. after the test clock moved past the old one's expiry)."""
    response = await client.post(f"{API}/auth/login", json={"email": account.email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return account_of(response.json())
