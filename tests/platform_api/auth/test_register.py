"""Registration: accounts, provider tenants, and typed errors for every bad input."""

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from pymongo.errors import ConnectionFailure

from shared_models.clock import ManualClock
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


async def test_a_sign_up_cut_short_leaves_no_usable_account_and_is_swept(
    api: httpx.AsyncClient, clock: ManualClock, platform_app: FastAPI
) -> None:
    """The database went away between the account's insert and its consents (simulated: the consent write
    fails and so does the clean-up): the account cannot log in, and the sweep removes it."""
    from platform_api.auth.service import auth_service
    from platform_api.consent import service as consent_module
    from shared_models.documents import ConsentRecord

    payload = register_payload(Role.customer)
    original_record, original_remove = consent_module.consent_service.record, auth_service._remove

    async def outage(*args: object, **kwargs: object) -> None:
        raise ConnectionFailure("engine gone")

    consent_module.consent_service.record = outage  # type: ignore[method-assign]
    auth_service._remove = outage  # type: ignore[method-assign]
    try:
        failed = await api.post(f"{API}/auth/register", json=payload)
    finally:
        consent_module.consent_service.record = original_record  # type: ignore[method-assign]
        auth_service._remove = original_remove  # type: ignore[method-assign]
    assert failed.status_code == 503 and failed.json()["error"]["code"] == "database_unavailable"
    left = await User.find_one({"email": payload["email"]})
    assert left is not None and left.complete is False
    login = await api.post(
        f"{API}/auth/login", json={"email": payload["email"], "password": payload["password"]}
    )
    assert login.status_code == 401 and login.json()["error"]["code"] == "invalid_credentials"
    assert (
        await auth_service.remove_incomplete(clock.now()) == 0
    )  # within the grace period: maybe still running
    assert await auth_service.remove_incomplete(clock.now() + timedelta(minutes=3)) == 1
    assert await User.find_one({"email": payload["email"]}) is None
    assert await ConsentRecord.find({"user_id": str(left.id)}).count() == 0
    again = await api.post(f"{API}/auth/register", json=payload)
    assert again.status_code == 201  # the address is free again
    stored = await User.find_one({"email": payload["email"]})
    assert stored is not None and stored.complete is True
