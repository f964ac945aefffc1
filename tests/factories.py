"""Factories: a valid account or payload in one call; a test states only what matters to it."""

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from shared_models.enums import Role

PASSWORD = "correct horse battery"
API = "/api/v1"


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def register_payload(role: Role = Role.customer, **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "email": unique_email(role.value),
        "password": PASSWORD,
        "role": role.value,
        "display_name": f"Test {role.value}",
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
