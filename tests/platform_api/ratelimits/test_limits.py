"""Limits on the abusable routes: per IP and per account, 429 with Retry-After and a typed body; never on
the Stripe webhook or the health probes; shared by two platform processes through the real Redis."""

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from platform_api.config import Settings
from platform_api.main import create_app
from scripts import stack
from scripts.processes import ManagedProcess, free_port
from shared_models.clock import ManualClock
from shared_models.enums import Role
from tests.chat_server.test_scale_out import redis_reachable
from tests.conftest import REDIS_URL, LiveStack, service_env
from tests.factories import API, PASSWORD, register, register_payload
from tests.platform_api.bookings.helpers import make_parties, request_payload


@pytest.fixture
async def limited(settings: Settings, clock: ManualClock) -> AsyncIterator[FastAPI]:
    """The platform with its default limits on (the suite's other tests run with them off)."""
    app = create_app(
        settings.model_copy(update={"http_rate_limits": True, "rate_request_create_user": "3/hour"}), clock
    )
    async with app.router.lifespan_context(app):
        yield app


def client_from(app: FastAPI, ip: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(ip, 40000)), base_url="https://t")


async def test_login_per_ip_then_per_account_from_any_ip(limited: FastAPI) -> None:
    async with client_from(limited, "10.0.0.1") as one:
        account = await register(one, Role.customer)
    wrong = {"email": account.email, "password": "not the password"}
    async with client_from(limited, "10.0.0.2") as attacker:
        for _ in range(5):
            assert (await attacker.post(f"{API}/auth/login", json=wrong)).status_code == 401
        refused = await attacker.post(f"{API}/auth/login", json=wrong)
    assert refused.status_code == 429
    assert (
        refused.json()["error"]["code"] == "rate_limited"
        and refused.json()["error"]["details"]["rule"] == "login_ip"
    )
    assert 1 <= int(refused.headers["Retry-After"]) <= 300

    # The account: 10 per 15 minutes, whatever the address (5 above counted; 5 more from fresh addresses).
    for n in range(5):
        async with client_from(limited, f"10.1.0.{n}") as fresh:
            assert (await fresh.post(f"{API}/auth/login", json=wrong)).status_code == 401
    async with client_from(limited, "10.9.9.9") as never_seen:
        right = await never_seen.post(
            f"{API}/auth/login", json={"email": account.email, "password": PASSWORD}
        )
    assert right.status_code == 429 and right.json()["error"]["details"]["rule"] == "login_account"
    assert int(right.headers["Retry-After"]) > 0


async def test_register_per_ip_and_requests_per_user(limited: FastAPI, clock: ManualClock) -> None:
    async with client_from(limited, "10.2.0.1") as client:
        statuses = [
            (await client.post(f"{API}/auth/register", json=register_payload(Role.customer))).status_code
            for _ in range(11)
        ]
    assert statuses == [201] * 10 + [429]
    async with client_from(limited, "10.2.0.2") as client:
        parties = await make_parties(client)
        created = [
            (
                await client.post(
                    f"{API}/requests",
                    json=request_payload(parties.provider_id, clock.now()),
                    headers=parties.customer.bearer,
                )
            ).status_code
            for _ in range(4)
        ]
        assert created == [201, 201, 201, 429]
        other = await client.post(
            f"{API}/requests",
            json=request_payload(parties.provider_id, clock.now()),
            headers=parties.other_customer.bearer,
        )
        assert other.status_code == 201  # per user, not per address


async def test_webhook_and_health_are_never_limited(limited: FastAPI) -> None:
    async with client_from(limited, "10.3.0.1") as client:
        for _ in range(150):
            assert (await client.get("/healthz")).status_code == 200
        webhook = [
            (await client.post(f"{API}/billing/webhook", content=b"{}")).status_code for _ in range(30)
        ]
    assert set(webhook) == {400}  # unsigned, refused: never 429


@pytest.fixture(scope="module")
def two_platforms(live_stack: LiveStack, run_dir: Path) -> Iterator[tuple[str, str]]:
    if not redis_reachable():
        pytest.skip(f"no Redis at {REDIS_URL}: the shared-limit test needs a real one")
    env = {
        **service_env(live_stack.mongodb_uri, live_stack.db_name, live_stack.stripe_api),
        "HTTP_RATE_LIMITS": "true",
        "REDIS_URL": REDIS_URL,
        "RATE_LIMIT_PREFIX": f"test-{uuid.uuid4().hex[:8]}",  # this run's own keys
    }
    procs: list[ManagedProcess] = []
    try:
        for _ in range(2):
            procs.append(stack.platform(free_port(), env, run_dir / "logs").start())
        yield tuple(f"http://127.0.0.1:{p.argv[p.argv.index('--port') + 1]}" for p in procs)  # type: ignore[misc]
    finally:
        for proc in procs:
            proc.stop()


@pytest.mark.e2e
async def test_two_platform_processes_share_the_limit_through_redis(
    two_platforms: tuple[str, str], live_stack: LiveStack
) -> None:
    async with httpx.AsyncClient(base_url=live_stack.platform_url) as unlimited:
        account = await register(unlimited, Role.customer)
    wrong = {"email": account.email, "password": "not the password"}
    statuses = []
    for n in range(6):  # alternating between the two processes, from one address
        async with httpx.AsyncClient(base_url=two_platforms[n % 2]) as client:
            statuses.append((await client.post(f"{API}/auth/login", json=wrong)).status_code)
    assert statuses == [401] * 5 + [429]


async def test_password_reset_per_ip_and_per_account(limited: FastAPI) -> None:
    target = {"email": f"someone-{uuid.uuid4().hex[:8]}@example.com"}  # unknown or not: limited alike
    async with client_from(limited, "10.4.0.1") as client:
        statuses = [
            (await client.post(f"{API}/auth/password-reset", json=target)).status_code for _ in range(6)
        ]
    assert statuses == [202] * 5 + [429]
    async with client_from(limited, "10.4.0.2") as other_ip:
        again = await other_ip.post(f"{API}/auth/password-reset", json=target)
    assert again.status_code == 429 and again.json()["error"]["details"]["rule"] == "reset_account"
