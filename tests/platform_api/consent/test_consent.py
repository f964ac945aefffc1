"""Consent: sign-up needs the current terms; the ledger is append-only; marketing mail needs an opt-in;
one-click unsubscribe works with a POST and no cookie, and is recorded; a tampered link is refused."""

from pathlib import Path
from urllib.parse import urlsplit

import httpx

from platform_api.config import Settings
from platform_api.consent.unsubscribe import unsubscribe_token
from platform_api.notifications.mailer import Mailer
from scripts.processes import ManagedProcess
from shared_models.clock import ManualClock
from shared_models.documents import ConsentRecord, EmailMessage, User
from shared_models.enums import Role
from shared_models.ids import time_key
from shared_models.notifications import CATALOGUE
from shared_models.services.notifications import Presence, notify
from tests.conftest import ClientFactory
from tests.factories import API, Account, register, register_payload
from tests.mail import inbox

OFFLINE = Presence(online=False, engaged=False)


async def test_sign_up_needs_the_current_terms_and_privacy(api: httpx.AsyncClient) -> None:
    for overrides, field in (
        ({"accepted_terms_version": "2020-01-01"}, "accepted_terms_version"),
        ({"accepted_privacy_version": "old"}, "accepted_privacy_version"),
    ):
        payload = register_payload(Role.customer, **overrides)
        refused = await api.post(f"{API}/auth/register", json=payload)
        assert refused.status_code == 422 and refused.json()["error"]["field"] == field, refused.text
        assert await User.find_one(User.email == payload["email"]) is None  # nothing written
    missing = register_payload(Role.customer)
    del missing["accepted_terms_version"]
    assert (await api.post(f"{API}/auth/register", json=missing)).status_code == 422


async def test_the_ledger_records_sign_up_and_every_change(api: httpx.AsyncClient) -> None:
    user = await register(api, Role.customer, marketing_opt_in=True)
    h = {**user.bearer, "User-Agent": "marketplace-tests"}
    first = (await api.get(f"{API}/account/consents", headers=h)).json()
    assert {(c["kind"], c["granted"], c["version"]) for c in first["current"]} == {
        ("terms", True, "2026-11-01"),
        ("privacy", True, "2026-11-01"),
        ("marketing_email", True, None),
    }
    assert (
        await api.put(f"{API}/account/consents/marketing", json={"opt_in": False}, headers=h)
    ).status_code == 200
    after = (await api.get(f"{API}/account/consents", headers=h)).json()
    marketing = [c for c in after["history"] if c["kind"] == "marketing_email"]
    assert [(c["granted"], c["source"]) for c in marketing] == [(False, "settings"), (True, "signup")]
    latest = await ConsentRecord.find({"user_id": user.id, "source": "settings"}).to_list()
    assert latest[0].user_agent == "marketplace-tests" and latest[0].ip
    assert len(after["history"]) == 4  # appended, never rewritten


async def queue_marketing(user: Account, clock: ManualClock, n: int) -> None:
    now = clock.now()
    await EmailMessage(
        key=f"marketing:{user.id}:{n}",
        to=user.email,
        subject=f"Spring offers {n}",
        text="Ten percent off.",
        user_id=user.id,
        category="marketing",
        unsubscribe_scope="marketing",
        next_attempt_key=time_key(now),
        created_at=now,
    ).insert()


async def test_marketing_mail_goes_only_with_a_current_opt_in(
    api: httpx.AsyncClient, mailer: Mailer, clock: ManualClock, sink: tuple[ManagedProcess, int, Path]
) -> None:
    user = await register(api, Role.customer)  # marketing_opt_in defaults to no
    await mailer.send_due(clock.now())  # the verification mail
    await queue_marketing(user, clock, 1)
    assert await mailer.send_due(clock.now()) == 0
    assert [m["Subject"] for m in inbox(sink[2], user.email)] == ["Confirm your email address"]
    await api.put(f"{API}/account/consents/marketing", json={"opt_in": True}, headers=user.bearer)
    await queue_marketing(user, clock, 2)
    assert await mailer.send_due(clock.now()) == 1
    assert [m["Subject"] for m in inbox(sink[2], user.email)][-1] == "Spring offers 2"


async def test_one_click_unsubscribe_without_a_cookie(
    api: httpx.AsyncClient,
    api_factory: ClientFactory,
    mailer: Mailer,
    clock: ManualClock,
    sink: tuple[ManagedProcess, int, Path],
) -> None:
    user = await register(api, Role.provider)
    payload = {"conversation_id": "c" * 24, "sender_id": "s" * 24, "recipient_id": user.id, "preview": "hi"}
    await notify(CATALOGUE["new_message"], user.id, "m:1", payload, OFFLINE, clock.now())
    await mailer.send_due(clock.now())
    [message] = [m for m in inbox(sink[2], user.email) if m["Subject"] == "New message"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = urlsplit(message["List-Unsubscribe"].strip("<>"))

    tampered = url.query.replace("token=", "token=x")
    anonymous = api_factory()  # a mail client: no cookie, no token
    refused = await anonymous.post(f"{url.path}?{tampered}")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "unsubscribe_link_invalid"

    done = await anonymous.post(f"{url.path}?{url.query}")
    assert done.status_code == 200 and done.json() == {"unsubscribed": "new_message"}
    prefs = (await api.get(f"{API}/notifications/preferences", headers=user.bearer)).json()["types"]
    assert next(t for t in prefs if t["type"] == "new_message")["channels"]["email"] is False
    recorded = await ConsentRecord.find({"user_id": user.id, "kind": "email:new_message"}).to_list()
    assert [(r.granted, r.source) for r in recorded] == [(False, "unsubscribe")]

    other = {**payload, "conversation_id": "d" * 24}
    later = await notify(CATALOGUE["new_message"], user.id, "m:2", other, OFFLINE, clock.now())
    assert later.notification is not None and not later.emailed


async def test_a_link_whose_signature_is_not_ascii_is_refused_not_a_500(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    """compare_digest raises on a non-ASCII str: such a mac was a 500 (the payload before it is fine)."""
    payload = unsubscribe_token(settings, "a" * 24, "marketing").partition(".")[0]
    for mac in ("é", "signature-é", "\u202e"):
        refused = await api.post(f"{API}/email/unsubscribe", params={"token": f"{payload}.{mac}"})
        assert refused.status_code == 400, (mac, refused.text)
        assert refused.json()["error"] == {
            "code": "unsubscribe_link_invalid",
            "message": "This unsubscribe link is not valid.",
            "field": "token",
        }


async def test_essential_mail_has_no_unsubscribe(
    api: httpx.AsyncClient, mailer: Mailer, clock: ManualClock, sink: tuple[ManagedProcess, int, Path]
) -> None:
    user = await register(api, Role.customer)
    await notify(
        CATALOGUE["account_suspended"], user.id, "s:1", {"recipient_id": user.id}, OFFLINE, clock.now()
    )
    await mailer.send_due(clock.now())
    for message in inbox(sink[2], user.email):  # verification and the suspension: both essential
        assert message["List-Unsubscribe"] is None
