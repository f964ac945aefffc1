"""Account mail through the real SMTP sink: verification and password reset complete from the emailed
link; expired and reused links are refused; a reset answers alike for unknown addresses; mail waits out
an SMTP outage and arrives once."""

import uuid
from datetime import timedelta
from email.message import EmailMessage as Message
from pathlib import Path

import httpx

from platform_api.notifications.mailer import Mailer
from scripts.processes import ManagedProcess
from shared_models.clock import ManualClock
from shared_models.enums import Role
from tests.factories import API, PASSWORD, Account, register
from tests.mail import inbox, link_token


async def test_verification_completes_from_the_emailed_link_once(
    api: httpx.AsyncClient, mailer: Mailer, clock: ManualClock, sink: tuple[ManagedProcess, int, Path]
) -> None:
    user = await register(api, Role.customer)
    assert user.body["user"]["email_verified"] is False
    assert await mailer.send_due(clock.now()) == 1
    [message] = inbox(sink[2], user.email)
    assert isinstance(message, Message)
    assert message["Subject"] == "Confirm your email address"
    assert {p.get_content_type() for p in message.walk()} >= {"text/plain", "text/html"}
    token = link_token(message)
    done = await api.post(f"{API}/auth/verify-email", json={"token": token})
    assert done.status_code == 200 and done.json()["email_verified"] is True
    assert (await api.get(f"{API}/auth/me", headers=user.bearer)).json()["user"]["email_verified"] is True
    reused = await api.post(f"{API}/auth/verify-email", json={"token": token})
    assert reused.status_code == 400 and reused.json()["error"]["code"] == "link_invalid"


async def test_an_expired_verification_link_is_refused(
    api: httpx.AsyncClient, mailer: Mailer, clock: ManualClock, sink: tuple[ManagedProcess, int, Path]
) -> None:
    user = await register(api, Role.provider)
    await mailer.send_due(clock.now())
    token = link_token(inbox(sink[2], user.email)[0])
    clock.advance(timedelta(hours=48, seconds=1))
    expired = await api.post(f"{API}/auth/verify-email", json={"token": token})
    assert expired.status_code == 400 and expired.json()["error"]["code"] == "link_invalid"
    resent = await api.post(f"{API}/auth/verify-email/resend", headers=user.bearer)
    assert resent.status_code == 202
    await mailer.send_due(clock.now())
    fresh = link_token(inbox(sink[2], user.email)[-1])
    assert (await api.post(f"{API}/auth/verify-email", json={"token": fresh})).status_code == 200


async def test_password_reset_from_the_link_ends_old_sessions_and_works_once(
    api: httpx.AsyncClient, mailer: Mailer, clock: ManualClock, sink: tuple[ManagedProcess, int, Path]
) -> None:
    user: Account = await register(api, Role.customer)
    await mailer.send_due(clock.now())  # the verification mail
    known = await api.post(f"{API}/auth/password-reset", json={"email": user.email.upper()})
    unknown = await api.post(
        f"{API}/auth/password-reset", json={"email": f"nobody-{uuid.uuid4().hex}@example.com"}
    )
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json()) == (202, known.json())
    assert await mailer.send_due(clock.now()) == 1  # only the known account is mailed
    reset_mail = [m for m in inbox(sink[2], user.email) if m["Subject"] == "Reset your password"]
    assert len(reset_mail) == 1
    token = link_token(reset_mail[0])

    # All within one second of the clock, as a user who resets and logs in at once: the sessions from
    # before the reset end, the one after it works (a whole-second cutoff left it born dead).
    done = await api.post(
        f"{API}/auth/password-reset/confirm", json={"token": token, "password": "a brand new password"}
    )
    assert done.status_code == 200, done.text
    stale = await api.get(f"{API}/auth/me", headers=user.bearer)
    assert stale.status_code == 401 and stale.json()["error"]["code"] == "session_revoked"
    old = await api.post(f"{API}/auth/login", json={"email": user.email, "password": PASSWORD})
    assert old.status_code == 401
    new = await api.post(f"{API}/auth/login", json={"email": user.email, "password": "a brand new password"})
    assert new.status_code == 200
    assert (
        await api.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {new.json()['access_token']}"})
    ).status_code == 200
    reused = await api.post(
        f"{API}/auth/password-reset/confirm", json={"token": token, "password": "yet another password"}
    )
    assert reused.status_code == 400 and reused.json()["error"]["code"] == "link_invalid"


async def test_an_expired_reset_link_is_refused(
    api: httpx.AsyncClient, mailer: Mailer, clock: ManualClock, sink: tuple[ManagedProcess, int, Path]
) -> None:
    user = await register(api, Role.customer)
    await api.post(f"{API}/auth/password-reset", json={"email": user.email})
    await mailer.send_due(clock.now())
    token = link_token(next(m for m in inbox(sink[2], user.email) if m["Subject"] == "Reset your password"))
    clock.advance(timedelta(minutes=30, seconds=1))
    expired = await api.post(
        f"{API}/auth/password-reset/confirm", json={"token": token, "password": "a brand new password"}
    )
    assert expired.status_code == 400 and expired.json()["error"]["code"] == "link_invalid"


async def test_mail_waits_out_an_smtp_outage_and_arrives_once(
    api: httpx.AsyncClient, mailer: Mailer, clock: ManualClock, sink: tuple[ManagedProcess, int, Path]
) -> None:
    proc, _, maildir = sink
    proc.stop()
    try:
        user = await register(api, Role.customer)
        assert await mailer.send_due(clock.now()) == 0  # the sink is down: nothing sent, nothing lost
        assert await mailer.send_due(clock.now()) == 0  # and not retried before its backoff
    finally:
        proc.start()
    clock.advance(timedelta(seconds=31))
    assert await mailer.send_due(clock.now()) == 1
    clock.advance(timedelta(hours=2))
    assert await mailer.send_due(clock.now()) == 0
    assert len(inbox(maildir, user.email)) == 1
