"""Login, cookies and Bearer, logout and revocation, CSRF, suspension, expiry, role guards."""

from datetime import timedelta

import httpx
import jwt
import pytest
from beanie import PydanticObjectId
from fastapi import FastAPI
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from platform_api.auth.service import auth_service, password_hasher
from platform_api.config import Settings
from shared_models import store
from shared_models.clock import ManualClock
from shared_models.documents import RevokedSession, User
from shared_models.enums import Role, UserStatus
from tests.conftest import ClientFactory
from tests.factories import API, PASSWORD, Account, account_of, register


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post(f"{API}/auth/login", json={"email": email, "password": password})


async def suspend(account: Account, app: FastAPI) -> None:
    """Suspend behind the service's back, as another process would; return once its cache followed."""
    user = await User.get(account.id)
    assert user is not None
    await user.set({User.status: UserStatus.suspended})
    await app.state.session_cache.synced()


async def test_login_returns_a_token_and_sets_hardened_cookies(api: httpx.AsyncClient) -> None:
    account = await register(api)
    response = await login(api, account.email.upper())  # emails are case-insensitive at login too
    assert response.status_code == 200
    body = response.json()
    assert body["access_token"] and body["user"]["id"] == account.id
    cookies = {c.split("=", 1)[0]: c for c in response.headers.get_list("set-cookie")}
    session, csrf = cookies["session"], cookies["csrf_token"]
    assert "HttpOnly" in session and "SameSite=lax" in session and "Secure" in session and "Path=/" in session
    assert "HttpOnly" not in csrf and "Secure" in csrf  # the SPA must read it to echo it
    assert f"csrf_token={body['csrf_token']}" in csrf


async def test_cookies_are_not_secure_in_dev_only(api: httpx.AsyncClient, platform_app: object) -> None:
    from platform_api.config import Settings
    from shared_models.runtime.settings import Environment

    settings: Settings = platform_app.state.settings  # type: ignore[attr-defined]
    assert settings.secure_cookies
    dev = settings.model_copy(update={"environment": Environment.dev})
    assert not dev.secure_cookies


async def test_a_login_on_an_outdated_hash_stores_its_rehash(api: httpx.AsyncClient) -> None:
    """A hash made under older argon2 parameters is replaced at the next login (through the store), and the
    password goes on working."""
    account = await register(api)
    older = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=8 * 1024, parallelism=1),)).hash(PASSWORD)
    await store.update_one(User, {"_id": PydanticObjectId(account.id)}, {"$set": {"password_hash": older}})
    assert (await login(api, account.email)).status_code == 200
    stored = await User.get(account.id)
    assert stored is not None and stored.password_hash != older
    assert password_hasher.verify_and_update(PASSWORD, stored.password_hash) == (True, None)  # current
    assert (await login(api, account.email)).status_code == 200


async def test_wrong_password_and_unknown_email_get_the_same_401(api: httpx.AsyncClient) -> None:
    account = await register(api)
    wrong = await login(api, account.email, "wrong password!!")
    unknown = await login(api, "nobody-here@example.com")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "invalid_credentials"
    assert "set-cookie" not in wrong.headers


async def test_bearer_and_cookie_both_authenticate(
    api: httpx.AsyncClient, api_factory: ClientFactory
) -> None:
    account = await register(api)
    async with api_factory() as bare:
        assert (await bare.get(f"{API}/auth/me")).status_code == 401
        by_bearer = await bare.get(f"{API}/auth/me", headers=account.bearer)
        assert by_bearer.status_code == 200 and by_bearer.json()["user"]["id"] == account.id
    async with api_factory() as browser:
        browser.cookies.set("session", account.token, domain="testserver.local")
        by_cookie = await browser.get(f"{API}/auth/me")
        assert by_cookie.status_code == 200 and by_cookie.json()["user"]["id"] == account.id
        assert by_cookie.json()["csrf_token"] == account.csrf_token


async def test_garbage_tokens_are_refused(api_factory: ClientFactory) -> None:
    async with api_factory() as client:
        for header in ("Bearer nonsense", "Bearer a.b.c", "Basic abc"):
            response = await client.get(f"{API}/auth/me", headers={"Authorization": header})
            assert response.status_code == 401
            assert response.json()["error"]["code"] in {"invalid_token", "not_authenticated"}


async def test_logout_revokes_the_token_for_bearer_and_cookie(
    api: httpx.AsyncClient, api_factory: ClientFactory
) -> None:
    account = await register(api)
    async with api_factory() as app_client:
        assert (await app_client.post(f"{API}/auth/logout", headers=account.bearer)).status_code == 204
        after = await app_client.get(f"{API}/auth/me", headers=account.bearer)
        assert after.status_code == 401 and after.json()["error"]["code"] == "session_revoked"
        # a second logout is refused as unauthenticated, not a crash
        assert (await app_client.post(f"{API}/auth/logout", headers=account.bearer)).status_code == 401
    async with api_factory() as browser:
        browser.cookies.set("session", account.token, domain="testserver.local")
        assert (await browser.get(f"{API}/auth/me")).status_code == 401
    revoked = await RevokedSession.find_one(RevokedSession.user_id == account.body["user"]["id"])
    assert revoked is not None and revoked.expires_at > revoked.revoked_at
    # another session of the same user is untouched
    other = await login(api, account.email)
    assert (await api.get(f"{API}/auth/me", headers=account_of(other.json()).bearer)).status_code == 200


async def test_logout_clears_the_browser_cookies(api: httpx.AsyncClient) -> None:
    account = await register(api)  # the client now holds the session cookie
    response = await api.post(f"{API}/auth/logout", headers={"X-CSRF-Token": account.csrf_token})
    assert response.status_code == 204
    cleared = response.headers.get_list("set-cookie")
    assert any(c.startswith('session="";') or c.startswith("session=;") for c in cleared), cleared
    assert (await api.get(f"{API}/auth/me")).status_code == 401


async def test_cookie_post_needs_the_csrf_token_bearer_does_not(
    api: httpx.AsyncClient, api_factory: ClientFactory
) -> None:
    account = await register(api)
    missing = await api.post(f"{API}/auth/logout")
    assert missing.status_code == 403 and missing.json()["error"]["code"] == "csrf_failed"
    wrong = await api.post(f"{API}/auth/logout", headers={"X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "csrf_failed"
    # the token of another session does not fit this one
    other = await register(api)
    crossed = await api.post(f"{API}/auth/logout", headers={"X-CSRF-Token": account.csrf_token})
    assert crossed.status_code == 403, "cookie now belongs to `other`; account's token must not fit"
    assert (await api.get(f"{API}/auth/me")).status_code == 200  # nothing was revoked by the refusals
    async with api_factory() as app_client:
        assert (await app_client.post(f"{API}/auth/logout", headers=account.bearer)).status_code == 204
    ok = await api.post(f"{API}/auth/logout", headers={"X-CSRF-Token": other.csrf_token})
    assert ok.status_code == 204


async def test_suspended_user_is_refused_at_login_and_on_live_tokens(
    api: httpx.AsyncClient, platform_app: FastAPI
) -> None:
    account = await register(api)
    assert (await api.get(f"{API}/auth/me", headers=account.bearer)).status_code == 200  # now cached
    await suspend(account, platform_app)
    refused = await login(api, account.email)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "account_suspended"
    live = await api.get(f"{API}/auth/me", headers=account.bearer)
    assert live.status_code == 403 and live.json()["error"]["code"] == "account_suspended"
    # a wrong password on a suspended account says nothing about the suspension
    assert (await login(api, account.email, "wrong password!!")).status_code == 401


async def test_sessions_expire_by_the_injected_clock(api: httpx.AsyncClient, clock: ManualClock) -> None:
    account = await register(api)
    clock.advance(timedelta(days=7) - timedelta(seconds=1))
    assert (await api.get(f"{API}/auth/me", headers=account.bearer)).status_code == 200
    clock.advance(timedelta(seconds=1))
    expired = await api.get(f"{API}/auth/me", headers=account.bearer)
    assert expired.status_code == 401 and expired.json()["error"]["code"] == "session_expired"


async def test_role_guard_keeps_customers_and_providers_off_admin_routes(
    api: httpx.AsyncClient, clock: ManualClock
) -> None:
    customer = await register(api, Role.customer)
    provider = await register(api, Role.provider)
    await auth_service.create_admin("root@example.com", PASSWORD, "Root", clock)
    admin = account_of((await login(api, "root@example.com")).json())
    url = f"{API}/admin/users/{customer.id}"
    for caller in (customer, provider):
        response = await api.get(url, headers=caller.bearer)
        assert response.status_code == 403 and response.json()["error"]["code"] == "role_forbidden"
    assert (await api.get(url)).status_code in (401, 200)  # cookie of the last login (admin) or none
    found = await api.get(url, headers=admin.bearer)
    assert found.status_code == 200 and found.json()["email"] == customer.email
    missing = await api.get(f"{API}/admin/users/not-an-id", headers=admin.bearer)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "user_not_found"


async def test_provider_routes_need_the_provider_role(api: httpx.AsyncClient) -> None:
    customer = await register(api, Role.customer)
    provider = await register(api, Role.provider)
    assert (await api.get(f"{API}/providers/me", headers=customer.bearer)).status_code == 403
    mine = await api.get(f"{API}/providers/me", headers=provider.bearer)
    assert mine.status_code == 200 and mine.json()["id"] == provider.body["provider"]["id"]


async def test_login_upgrades_a_hash_made_with_other_parameters(api: httpx.AsyncClient) -> None:
    from pwdlib.hashers.argon2 import Argon2Hasher

    account = await register(api)
    user = await User.get(account.id)
    assert user is not None and "m=19456,t=2,p=1" in user.password_hash
    await user.set({User.password_hash: Argon2Hasher().hash(PASSWORD)})  # the library's heavier default
    assert (await login(api, account.email)).status_code == 200
    upgraded = await User.get(account.id)
    assert upgraded is not None and "m=19456,t=2,p=1" in upgraded.password_hash


async def test_a_token_from_before_session_generations_is_judged_by_the_old_cutoff(
    api: httpx.AsyncClient, clock: ManualClock, settings: Settings, platform_app: FastAPI
) -> None:
    """Tokens issued before tokens carried `gen` still work until the account's sessions are ended: by the
    stored whole-second cutoff of that time, or by any generation move since."""
    account = await register(api)
    now = int(clock.now().timestamp())
    legacy = jwt.encode(
        {"sub": account.id, "role": "customer", "jti": "legacy-session-0001", "iat": now, "exp": now + 3600},
        settings.jwt_secret.get_secret_value(),
        algorithm="HS256",
    )
    bearer = {"Authorization": f"Bearer {legacy}"}
    assert (await api.get(f"{API}/auth/me", headers=bearer)).status_code == 200
    user = await User.get(account.id)
    assert user is not None
    await user.set({User.sessions_valid_after: now + 1})  # ended by the old cutoff
    await platform_app.state.session_cache.synced()
    assert (await api.get(f"{API}/auth/me", headers=bearer)).status_code == 401
    await user.set({User.sessions_valid_after: 0, User.session_generation: 1})  # ended since
    await platform_app.state.session_cache.synced()
    assert (await api.get(f"{API}/auth/me", headers=bearer)).status_code == 401
    # A current token carries the generation and works.
    fresh = account_of((await login(api, account.email)).json())
    assert (await api.get(f"{API}/auth/me", headers=fresh.bearer)).status_code == 200


ODD_CLAIMS = [
    {"gen": float("inf")},
    {"gen": float("-inf")},
    {"gen": float("nan")},
    {"gen": "0"},
    {"gen": 0.9},
    {"gen": True},
    {"gen": -1},
    {"gen": 2**70},
    {"gen": None},
    {"iat": 1e20},
    {"iat": "1"},
    {"exp": 1e20},
    {"exp": float("inf")},
    {"exp": 10**19},
    {"exp": -1e20},
    {"exp": "99999999999"},
    {"sub": 123},
    {"jti": 5},
    {"jti": ""},
    {"role": ["customer"]},
    {"role": "admin"},  # not the account's role
    {"iat": 253_402_300_799},  # issued after it expires
    {"sub": "UPPER"},  # replaced by the account id in upper case below
    {"jti": "x"},
    {"jti": "odd-1-but-not-as-issued "},
]


async def test_odd_claims_signed_with_the_real_secret_are_a_typed_401(
    api: httpx.AsyncClient, clock: ManualClock, settings: Settings
) -> None:
    """Only the exact types and ranges we issue are accepted: never a 500 (Infinity, out-of-range times),
    never another spelling of a valid value ("0", 0.9, true)."""
    account = await register(api)
    now = int(clock.now().timestamp())
    base = {"sub": account.id, "role": "customer", "jti": "odd-1-as-issued-0", "iat": now, "exp": now + 3600,
            "gen": 0}  # fmt: skip
    secret = settings.jwt_secret.get_secret_value()
    control = jwt.encode(base, secret, algorithm="HS256")
    assert (
        await api.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {control}"})
    ).status_code == 200
    for odd in ODD_CLAIMS:
        if odd.get("sub") == "UPPER":
            odd = {"sub": account.id.upper()}
        token = jwt.encode({**base, **odd}, secret, algorithm="HS256")
        answer = await api.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 401, (odd, answer.text)
        assert answer.json()["error"]["code"] == "invalid_token", odd
    padded = await api.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {control}="})
    assert padded.status_code == 401  # one spelling per token


async def test_a_login_overlapped_by_a_password_reset_is_refused_not_answered_with_a_dead_session(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reset lands while the login checks the old password (the slow part): the login must not return
    a session the reset already ended (200, then 401 on first use)."""
    from platform_api.auth import service
    from platform_api.auth.account import RESET_TTL, account_mail

    account = await register(api)
    user = await User.get(account.id)
    assert user is not None
    token = await account_mail._issue(user, "reset_password", RESET_TTL, user.created_at)
    checking = service.verify_password

    async def reset_meanwhile(password: str, hashed: str) -> tuple[bool, str | None]:
        verdict = await checking(password, hashed)
        confirmed = await api.post(
            f"{API}/auth/password-reset/confirm", json={"token": token, "password": "a brand new password"}
        )
        assert confirmed.status_code == 200, confirmed.text
        return verdict

    monkeypatch.setattr(service, "verify_password", reset_meanwhile)
    refused = await login(api, account.email)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_credentials"
    monkeypatch.setattr(service, "verify_password", checking)
    fresh = await login(api, account.email, "a brand new password")
    assert fresh.status_code == 200
    assert (await api.get(f"{API}/auth/me", headers=account_of(fresh.json()).bearer)).status_code == 200
