"""One canonical form of an email address (`canonical_email`, on email-validator's normalisation) on every
path keyed by an address: sign-up, login, the login and reset rate-limit keys, password reset, the
verification mail, admin search and the GDPR export's mail. Every spelling of one address (ü as one
character or as u + U+0308, any case, an IDNA domain in Unicode or xn-- form, surrounding space) reaches
the one account. (One-click unsubscribe is keyed by the signed account id, not by an address.)"""

import uuid
import warnings
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from bson import ObjectId
from fastapi import FastAPI

from platform_api.config import Settings
from platform_api.main import create_app
from platform_api.notifications.mailer import Mailer
from scripts.processes import ManagedProcess
from shared_models.clock import ManualClock
from shared_models.documents import User
from shared_models.documents.users import InvalidEmail, canonical_email
from shared_models.enums import Role
from tests.factories import API, PASSWORD, make_admin, register, register_payload
from tests.mail import inbox, link_token


def spellings(local: str, domain: str = "example.com") -> list[str]:
    """`local` is lower-case ASCII around one `ü`; every other way a user may type the same address."""
    decomposed = local.replace("\u00fc", "u\u0308")
    return [
        f"{decomposed}@{domain}",
        f"{local.upper()}@{domain.upper()}",
        f"{decomposed.upper()}@{domain}",
        f"  {local}@{domain}\t",
    ]


def fresh_local() -> str:
    return f"j\u00fcrgen-{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("ju\u0308rgen@example.com", "j\u00fcrgen@example.com"),
        ("J\u00dcRGEN@EXAMPLE.COM", "j\u00fcrgen@example.com"),
        (" Ada@Example.COM ", "ada@example.com"),
        ("ada@xn--bcher-kva.de", "ada@xn--bcher-kva.de"),  # the ASCII domain: no SMTPUTF8 needed
        ("ada@B\u00dcCHER.de", "ada@xn--bcher-kva.de"),
        ("ada@b\u00fccher.de", "ada@xn--bcher-kva.de"),
        ("\u0130ris@example.com", "i\u0307ris@example.com"),  # dotted capital I: lower case, then NFC
    ],
)
def test_canonical_form_of_each_spelling(typed: str, canonical: str) -> None:
    assert canonical_email(typed) == canonical
    assert canonical_email(canonical) == canonical  # idempotent: a stored address is its own key


@pytest.mark.parametrize("typed", ["not-an-email", "a@b", "root@localhost", "x@y.test", "a@@example.com", ""])
def test_what_email_validator_rejects_is_invalid(typed: str) -> None:
    with pytest.raises(InvalidEmail):
        canonical_email(typed)


async def test_every_spelling_reaches_the_one_account(api: httpx.AsyncClient, clock: ManualClock) -> None:
    local = fresh_local()
    created = await api.post(f"{API}/auth/register", json=register_payload(email=f"{local}@example.com"))
    assert created.status_code == 201, created.text
    account_id = created.json()["user"]["id"]
    assert created.json()["user"]["email"] == f"{local}@example.com"
    admin = await make_admin(api, clock)
    for typed in spellings(local):
        again = await api.post(f"{API}/auth/register", json=register_payload(email=typed))
        assert again.status_code == 409 and again.json()["error"]["code"] == "email_taken", typed
        login = await api.post(f"{API}/auth/login", json={"email": typed, "password": PASSWORD})
        assert login.status_code == 200, (typed, login.text)
        assert login.json()["user"]["id"] == account_id
        prefix = typed.strip()[: len(local) + 1]  # a prefix as typed
        found = await api.get(f"{API}/admin/users", params={"email": prefix}, headers=admin.bearer)
        assert [u["id"] for u in found.json()["items"]] == [account_id], typed


async def test_an_idna_domain_in_either_form_is_one_account(api: httpx.AsyncClient) -> None:
    local = f"ada-{uuid.uuid4().hex[:8]}"
    created = await api.post(f"{API}/auth/register", json=register_payload(email=f"{local}@B\u00dcCHER.de"))
    assert created.status_code == 201 and created.json()["user"]["email"] == f"{local}@xn--bcher-kva.de"
    again = await api.post(f"{API}/auth/register", json=register_payload(email=f"{local}@b\u00fccher.de"))
    assert again.status_code == 409
    login = await api.post(
        f"{API}/auth/login", json={"email": f"{local}@b\u00fccher.DE", "password": PASSWORD}
    )
    assert login.status_code == 200 and login.json()["user"]["id"] == created.json()["user"]["id"]


async def test_an_account_stored_before_validation_still_logs_in_and_resets(
    api: httpx.AsyncClient, mailer: Mailer, clock: ManualClock, sink: tuple[ManagedProcess, int, Path]
) -> None:
    """An address email-validator rejects (an earlier create_admin took any string) is looked up under
    the same character rules: the account is not locked out. Sign-up still refuses such an address."""
    local = f"ops-{uuid.uuid4().hex[:8]}"
    account = await register(api)
    await User.get_pymongo_collection().update_one(
        {"_id": ObjectId(account.id)}, {"$set": {"email": f"{local}@localhost"}}
    )
    login = await api.post(
        f"{API}/auth/login", json={"email": f" {local.upper()}@localhost", "password": PASSWORD}
    )
    assert login.status_code == 200 and login.json()["user"]["id"] == account.id
    await mailer.send_due(clock.now())
    assert (
        await api.post(f"{API}/auth/password-reset", json={"email": f"{local}@LOCALHOST"})
    ).status_code == 202
    assert await mailer.send_due(clock.now()) == 1
    signup = await api.post(f"{API}/auth/register", json=register_payload(email=f"new-{local}@localhost"))
    assert signup.status_code == 422 and signup.json()["error"]["field"] == "email"
    unknown = await api.post(f"{API}/auth/login", json={"email": "not-an-email", "password": PASSWORD})
    assert unknown.status_code == 401 and unknown.json()["error"]["code"] == "invalid_credentials"


async def test_admin_search_finds_addresses_with_characters_beyond_the_bmp(
    api: httpx.AsyncClient, clock: ManualClock
) -> None:
    tag = uuid.uuid4().hex[:8]
    email = f"ab{tag}\U0001f600x@example.com"
    created = await api.post(f"{API}/auth/register", json=register_payload(email=email))
    assert created.status_code == 201, created.text
    admin = await make_admin(api, clock)
    for prefix in (f"ab{tag}", f"AB{tag}\U0001f600", email):
        found = await api.get(f"{API}/admin/users", params={"email": prefix}, headers=admin.bearer)
        assert [u["id"] for u in found.json()["items"]] == [created.json()["user"]["id"]], prefix


async def test_reset_and_verification_mail_go_to_the_one_account(
    api: httpx.AsyncClient, mailer: Mailer, clock: ManualClock, sink: tuple[ManagedProcess, int, Path]
) -> None:
    local = fresh_local()
    canonical = f"{local}@example.com"
    # Signed up with the decomposed spelling: stored, and mailed, at the canonical address.
    user = await register(api, Role.customer, email=spellings(local)[0])
    assert user.email == canonical
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert await mailer.send_due(clock.now()) == 1
    [verification] = inbox(sink[2], canonical)
    verified = await api.post(f"{API}/auth/verify-email", json={"token": link_token(verification)})
    assert verified.status_code == 200 and verified.json()["email_verified"] is True

    for typed in spellings(local):
        reset = await api.post(f"{API}/auth/password-reset", json={"email": typed})
        assert reset.status_code == 202, typed
    assert await mailer.send_due(clock.now()) == len(spellings(local))
    resets = [m for m in inbox(sink[2], canonical) if m["Subject"] == "Reset your password"]
    assert len(resets) == len(spellings(local))

    export = (await api.get(f"{API}/account/export", headers=user.bearer)).json()
    assert export["account"]["email"] == canonical
    assert len(export["emails"]) == 1 + len(spellings(local))


@pytest.fixture
async def limited(settings: Settings, clock: ManualClock) -> AsyncIterator[FastAPI]:
    app = create_app(settings.model_copy(update={"http_rate_limits": True}), clock)
    async with app.router.lifespan_context(app):
        yield app


def client_from(app: FastAPI, ip: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(ip, 40000)), base_url="https://t")


async def test_the_rate_limit_keys_are_the_canonical_address(limited: FastAPI) -> None:
    """Failed logins in ten spellings from ten addresses count against one account (10 per 15 minutes);
    the sixth password reset in any spelling is refused (5 per hour per address)."""
    local = fresh_local()
    async with client_from(limited, "10.7.0.1") as client:
        assert (
            await client.post(f"{API}/auth/register", json=register_payload(email=f"{local}@example.com"))
        ).status_code == 201
    typed = spellings(local) * 3
    for n in range(10):
        async with client_from(limited, f"10.7.1.{n}") as fresh:
            wrong = await fresh.post(f"{API}/auth/login", json={"email": typed[n], "password": "wrong one!"})
            assert wrong.status_code == 401
    async with client_from(limited, "10.7.2.1") as other:
        right = await other.post(
            f"{API}/auth/login", json={"email": f"{local}@example.com", "password": PASSWORD}
        )
    assert right.status_code == 429 and right.json()["error"]["details"]["rule"] == "login_account"

    reset_local = fresh_local()
    for n, spelling in enumerate(
        [*spellings(reset_local), f"{reset_local}@example.com", spellings(reset_local)[0]]
    ):
        async with client_from(limited, f"10.7.3.{n}") as fresh:
            reset = await fresh.post(f"{API}/auth/password-reset", json={"email": spelling})
        assert reset.status_code == (429 if n == 5 else 202), (n, reset.text)
