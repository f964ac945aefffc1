"""The session cache across real processes: two platform processes and the chat server on one engine.

A logout, a suspension or a password reset made through one platform process is refused by that process
at once, and by the other process and by socket connects within one second; each process serves known
sessions from its cache (its /metrics count the hits). With the engine restarted under them, the caches
read through while their change streams are down and nothing revoked is let in.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from bson import ObjectId

from platform_api.auth.account import RESET_TTL, account_mail
from scripts import stack
from scripts.processes import ManagedProcess, free_port
from shared_models.documents import User
from shared_models.enums import UserStatus
from shared_models.runtime.registry import connect, init_models
from tests.chat_server.sockets import PyClient
from tests.conftest import LiveStack, live_admin, run_create_admin, service_env
from tests.factories import API, PASSWORD, Account, account_of, register

pytestmark = pytest.mark.e2e
SECOND = 1.0  # the issue's bound for other processes to follow a change


def url_of(proc: ManagedProcess) -> str:
    return f"http://127.0.0.1:{proc.argv[proc.argv.index('--port') + 1]}"


@pytest.fixture(scope="module")
def second_platform(live_stack: LiveStack, run_dir: Path, s3: str) -> Iterator[str]:
    """Another platform process on the live stack's database (and the same chat server)."""
    env = {
        **service_env(live_stack.mongodb_uri, live_stack.db_name, live_stack.stripe_api, s3),
        "CHAT_INTERNAL_URL": live_stack.chat_url,
    }
    proc = stack.platform(free_port(), env, run_dir / "logs").start()
    yield url_of(proc)
    proc.stop()


async def within_a_second(attempt: Callable[[], Awaitable[bool]]) -> float:
    """Try until `attempt` holds; the seconds it took, failing if that is over a second. The pause between
    tries paces the probe, the deadline is the assertion."""
    started = time.monotonic()
    while not await attempt():
        elapsed = time.monotonic() - started
        assert elapsed < SECOND, f"still not refused after {elapsed:.2f} s"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def metric(client: httpx.AsyncClient, base: str, name: str) -> float:
    text = (await client.get(f"{base}/metrics")).text
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " "))


async def me(client: httpx.AsyncClient, base: str, account: Account) -> int:
    return (await client.get(f"{base}{API}/auth/me", headers=account.bearer)).status_code


async def socket_refused(chat_url: str, account: Account) -> bool:
    client = PyClient()
    try:
        return not await client.connect(chat_url, token=account.token)
    finally:
        await client.close()


async def signed_in(client: httpx.AsyncClient, a: str, b: str) -> Account:
    """A new customer whose session both platform processes have cached (B's hits grow)."""
    client.base_url = httpx.URL(a)
    account = await register(client)
    hits = await metric(client, b, "session_cache_hits_total")
    for _ in range(50):  # the sign-up's own change events may drop the first entries read
        assert await me(client, a, account) == 200 and await me(client, b, account) == 200
        if await metric(client, b, "session_cache_hits_total") >= hits + 3:
            return account
    raise AssertionError("B does not serve the session from its cache")


async def test_logout_suspension_and_reset_reach_every_process_within_a_second(
    live_stack: LiveStack, second_platform: str
) -> None:
    a, b, chat = live_stack.platform_url, second_platform, live_stack.chat_url
    admin = live_admin(live_stack)
    async with httpx.AsyncClient(timeout=20) as client:
        # Logout in A.
        account = await signed_in(client, a, b)
        assert (await client.post(f"{a}{API}/auth/logout", headers=account.bearer)).status_code == 204
        assert await me(client, a, account) == 401  # at once where it was done
        await within_a_second(lambda: _refused(client, b, account))
        await within_a_second(lambda: socket_refused(chat, account))

        # Suspension in A (the admin console).
        account = await signed_in(client, a, b)
        suspended = await client.post(
            f"{a}{API}/admin/users/{account.id}/suspend", json={"reason": "Fraud."}, headers=admin.bearer
        )
        assert suspended.status_code == 200, suspended.text
        assert await me(client, a, account) in (401, 403)
        await within_a_second(lambda: _refused(client, b, account))
        await within_a_second(lambda: socket_refused(chat, account))

        # Password reset in A; a session started right after it works everywhere.
        account = await signed_in(client, a, b)
        mongo = connect(live_stack.mongodb_uri, 5000)
        try:
            await init_models(mongo, live_stack.db_name)
            user = await User.get(account.id)
            assert user is not None
            token = await account_mail._issue(user, "reset_password", RESET_TTL, user.created_at)
        finally:
            await mongo.close()
        confirmed = await client.post(
            f"{a}{API}/auth/password-reset/confirm", json={"token": token, "password": "a brand new password"}
        )
        assert confirmed.status_code == 200, confirmed.text
        assert await me(client, a, account) == 401
        await within_a_second(lambda: _refused(client, b, account))
        await within_a_second(lambda: socket_refused(chat, account))
        login = await client.post(
            f"{a}{API}/auth/login", json={"email": account.email, "password": "a brand new password"}
        )
        fresh = account_of(login.json())
        assert await me(client, a, fresh) == 200 and await me(client, b, fresh) == 200
        assert not await socket_refused(chat, fresh)


async def test_a_change_made_behind_the_services_backs_reaches_them_within_a_second(
    live_stack: LiveStack, second_platform: str
) -> None:
    """A write no service made (an ops script, another deployment): only the change streams carry it."""
    a, b, chat = live_stack.platform_url, second_platform, live_stack.chat_url
    async with httpx.AsyncClient(timeout=20) as client:
        account = await signed_in(client, a, b)
        assert not await socket_refused(chat, account)  # the chat server knows it too now
        mongo = connect(live_stack.mongodb_uri, 5000)
        try:
            await init_models(mongo, live_stack.db_name)
            await User.get_pymongo_collection().update_one(
                {"_id": ObjectId(account.id)},
                {"$set": {"status": UserStatus.suspended.value}},
            )
        finally:
            await mongo.close()
        await within_a_second(lambda: _refused(client, a, account))
        await within_a_second(lambda: _refused(client, b, account))
        await within_a_second(lambda: socket_refused(chat, account))


async def logout(client: httpx.AsyncClient, base: str, account: Account) -> int:
    return (await client.post(f"{base}{API}/auth/logout", headers=account.bearer)).status_code


async def _refused(client: httpx.AsyncClient, base: str, account: Account) -> bool:
    return await me(client, base, account) in (401, 403)


async def test_with_the_engine_restarted_nothing_revoked_is_let_in(
    tmp_path: Path, stripe_api: str, s3: str
) -> None:
    """A quick restart (well inside the client's timeouts): the engine numbers cursors afresh and answers
    the old ones as closed, which once left a stream silently dead and its cache trusted for good."""
    port = free_port()
    engine = stack.engine(port, tmp_path / "mongo", tmp_path).start()
    env = {**service_env(stack.mongodb_uri(port), "restart", stripe_api, s3), "MONGODB_TIMEOUT_MS": "1000"}
    platforms = [stack.platform(free_port(), env, tmp_path).start() for _ in range(2)]
    a, b = (url_of(p) for p in platforms)
    made = run_create_admin(stack.mongodb_uri(port), "restart", "a long admin password", "ops@example.com")
    assert made.returncode == 0, made.stderr
    try:
        async with httpx.AsyncClient(timeout=20) as client:
            admin = account_of(
                (await client.post(f"{a}{API}/auth/login",
                                   json={"email": "ops@example.com", "password": "a long admin password"})).json()
            )  # fmt: skip
            logged_out, kept, suspended, edited = [await signed_in(client, a, b) for _ in range(4)]
            login = await client.post(
                f"{a}{API}/auth/login", json={"email": kept.email, "password": PASSWORD}
            )
            kept = account_of(login.json())
            assert await me(client, b, kept) == 200
            engine.kill()
            engine.start()
            # The first requests that reach the engine again: a logout and a suspension in A, and a
            # suspension written by someone else.
            async with asyncio.timeout(60):
                while (status := await logout(client, a, logged_out)) == 503:
                    pass
            assert status == 204
            changed = await client.post(
                f"{a}{API}/admin/users/{suspended.id}/suspend",
                json={"reason": "Fraud."},
                headers=admin.bearer,
            )
            assert changed.status_code == 200, changed.text
            mongo = connect(stack.mongodb_uri(port), 5000)
            try:
                await init_models(mongo, "restart")
                await User.get_pymongo_collection().update_one(
                    {"_id": ObjectId(edited.id)}, {"$set": {"status": UserStatus.suspended.value}}
                )
            finally:
                await mongo.close()
            for account in (logged_out, suspended, edited):
                for base in (a, b):
                    await within_a_second(lambda: _refused(client, base, account))  # noqa: B023
            for _ in range(5):  # and they stay refused
                for account in (logged_out, suspended, edited):
                    assert await _refused(client, b, account)
            assert await me(client, a, kept) == 200  # the other session is untouched
            assert await me(client, b, kept) == 200
    finally:
        for proc in platforms:
            proc.stop()
        engine.stop()
