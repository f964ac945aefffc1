"""Property-based: logins, logouts, password resets, suspensions and lifts in any order, all within one
second of the (injected) clock. Every session issued after the last reset or suspension works while the
account is active; every session issued before one does not, and neither does a logged-out one."""

from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from platform_api.auth.account import RESET_TTL, account_mail
from platform_api.config import Settings
from platform_api.realtime import RealtimeClient
from shared_models.clock import ManualClock
from shared_models.documents import User
from tests.factories import API, PASSWORD, Account, account_of, make_admin, register

OPERATIONS = ("login", "login", "logout", "reset", "suspend", "lift")


@dataclass
class Session:
    account: Account
    logged_out: bool = False
    ended: bool = False  # by a password reset or a suspension after it was issued

    def expected(self, active: bool) -> int:
        """The status `GET /auth/me` owes it: the logout is judged first, then the account, then the end."""
        return 401 if self.logged_out else 403 if not active else 401 if self.ended else 200


@pytest.fixture
async def chat_server_answering(platform_app: FastAPI) -> None:
    """The chat server's internal API as an always-answering stand-in: these cases are about sessions, and a
    port nothing listens on costs each suspension half a second of connection retries."""
    answer = httpx.MockTransport(lambda request: httpx.Response(200, json={"disconnected": 0}))
    await platform_app.state.realtime.aclose()
    platform_app.state.realtime = RealtimeClient(Settings(_env_file=None), transport=answer)


@pytest.mark.usefixtures("chat_server_answering")
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
async def test_sessions_are_never_born_dead_and_never_outlive_an_end(
    api: httpx.AsyncClient, platform_app: FastAPI, clock: ManualClock, data: st.DataObject
) -> None:
    clock.set(clock.now().replace(microsecond=0) + timedelta(seconds=1))
    second = clock.now()
    admin = await make_admin(api, clock)
    account = await register(api)
    password, active = PASSWORD, True
    sessions = [Session(account)]
    for _ in range(data.draw(st.integers(min_value=1, max_value=7), label="steps")):
        clock.advance(timedelta(milliseconds=data.draw(st.integers(0, 120), label="ms")))
        operation = data.draw(st.sampled_from(OPERATIONS), label="operation")
        if operation == "login":
            login = await api.post(f"{API}/auth/login", json={"email": account.email, "password": password})
            assert login.status_code == (200 if active else 403), login.text
            if active:
                sessions.append(Session(account_of(login.json())))
        elif operation == "logout":
            session = sessions[data.draw(st.integers(0, len(sessions) - 1), label="session")]
            owed = session.expected(active)
            out = await api.post(f"{API}/auth/logout", headers=session.account.bearer)
            assert out.status_code == (204 if owed == 200 else owed), out.text
            session.logged_out = session.logged_out or owed == 200
        elif operation == "reset" and active:
            user = await User.get(account.id)
            assert user is not None
            token = await account_mail._issue(user, "reset_password", RESET_TTL, clock.now())
            password = f"new password {len(sessions)} {clock.now().microsecond}"
            done = await api.post(
                f"{API}/auth/password-reset/confirm", json={"token": token, "password": password}
            )
            assert done.status_code == 200, done.text
            for session in sessions:
                session.ended = True
        elif operation in ("suspend", "lift") and active == (operation == "suspend"):
            path = "suspend" if operation == "suspend" else "unsuspend"
            changed = await api.post(
                f"{API}/admin/users/{account.id}/{path}", json={"reason": "Checks."}, headers=admin.bearer
            )
            assert changed.status_code == 200, changed.text
            active = operation == "lift"
            for session in sessions:
                session.ended = True
        for session in sessions:
            me = await api.get(f"{API}/auth/me", headers=session.account.bearer)
            assert me.status_code == session.expected(active), (operation, me.json())
    assert clock.now().replace(microsecond=0) == second  # every step fell within the same second
