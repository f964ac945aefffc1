"""Registration: accounts, provider tenants, and typed errors for every bad input."""

import httpx
import pytest

from shared_models.documents import ProviderProfile, User
from shared_models.enums import Role
from tests.factories import API, register, register_payload


async def test_customer_registers_and_gets_a_session(api: httpx.AsyncClient) -> None:
    response = await api.post(f"{API}/auth/register", json=register_payload(Role.customer))
    assert response.status_code == 201
    body = response.json()
    assert body["user"]["role"] == "customer"
    assert body["user"]["status"] == "active"
    assert body["provider"] is None
    assert body["token_type"] == "bearer" and body["access_token"] and body["csrf_token"]
    assert "password_hash" not in body["user"]
    stored = await User.get(body["user"]["id"])
    assert stored is not None and stored.password_hash.startswith("$argon2")


async def test_provider_registration_creates_the_tenant_profile(api: httpx.AsyncClient) -> None:
    account = await register(api, Role.provider)
    provider = account.body["provider"]
    assert provider["business_name"] == "Sparkle Cleaning Co."
    assert provider["slug"] == "sparkle-cleaning-co"
    profile = await ProviderProfile.find_one(ProviderProfile.slug == "sparkle-cleaning-co")
    assert profile is not None and str(profile.owner_id) == account.id

    again = await register(api, Role.provider)  # same business name: a distinct, still readable slug
    assert again.body["provider"]["slug"].startswith("sparkle-cleaning-co-")
    public = await api.get(f"{API}/providers/{again.body['provider']['slug']}")
    assert public.status_code == 200 and public.json()["id"] == again.body["provider"]["id"]


async def test_email_is_normalised_and_unique_case_insensitively(api: httpx.AsyncClient) -> None:
    first = await api.post(f"{API}/auth/register", json=register_payload(email="  Mixed.Case@Example.COM "))
    assert first.status_code == 201
    assert first.json()["user"]["email"] == "mixed.case@example.com"
    duplicate = await api.post(f"{API}/auth/register", json=register_payload(email="mixed.case@example.com"))
    assert duplicate.status_code == 409
    assert duplicate.json() == {
        "error": {
            "code": "email_taken",
            "message": "An account with this email already exists.",
            "field": "email",
        }
    }
    assert await User.find(User.email == "mixed.case@example.com").count() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"password": "short"}, "password"),
        ({"password": "x" * 129}, "password"),
        ({"role": "admin"}, "role"),
        ({"display_name": "   "}, "display_name"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
async def test_bad_input_is_a_typed_422_naming_the_field(
    api: httpx.AsyncClient, overrides: dict[str, object], field: str
) -> None:
    payload = {**register_payload(Role.customer), **overrides}
    response = await api.post(f"{API}/auth/register", json=payload)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["field"] == field
    assert error["message"]
    assert await User.count() == 0  # never a partial write


async def test_provider_details_must_match_the_role(api: httpx.AsyncClient) -> None:
    missing = register_payload(Role.provider)
    del missing["provider"]
    response = await api.post(f"{API}/auth/register", json=missing)
    assert response.status_code == 422 and response.json()["error"]["field"] == "provider"

    bad_area = register_payload(Role.provider)
    bad_area["provider"]["service_area"]["lat"] = 123
    response = await api.post(f"{API}/auth/register", json=bad_area)
    assert response.status_code == 422 and response.json()["error"]["field"] == "provider.service_area.lat"

    stray = register_payload(Role.customer, provider={"business_name": "Nope Ltd"})
    response = await api.post(f"{API}/auth/register", json=stray)
    assert response.status_code == 422 and response.json()["error"]["field"] == "provider"
    assert await User.count() == 0 and await ProviderProfile.count() == 0


async def test_malformed_json_is_a_typed_422(api: httpx.AsyncClient) -> None:
    response = await api.post(
        f"{API}/auth/register", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
