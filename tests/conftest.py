"""Session fixtures start real processes once; every test gets a fresh database and its own clock."""

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pymongo import AsyncMongoClient

from chat_server.app import ChatApp
from chat_server.app import create_app as create_chat_app
from chat_server.config import ChatSettings
from platform_api.config import Settings
from platform_api.main import create_app as create_platform_app
from platform_api.media.storage import ObjectStorage
from scripts import stack
from scripts.processes import ManagedProcess, free_port
from shared_models.clock import ManualClock
from shared_models.runtime.settings import Environment
from tests.factories import API, TEST_STRIPE_WEBHOOK_SECRET, Account, account_of

TEST_JWT_SECRET = "test-secret-for-the-suite-only-0123456789abcdef"
TEST_INTERNAL_TOKEN = "test-internal-token-for-the-suite-0123456789"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# The live chat servers' per-user message limit: above the 40-message bursts the order tests send, and
# what the rate-limit test counts up to.
CHAT_MESSAGE_LIMIT = 60


@dataclass
class Engine:
    proc: ManagedProcess
    port: int

    @property
    def uri(self) -> str:
        return stack.mongodb_uri(self.port)


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("run")


@pytest.fixture(scope="session")
def engine(run_dir: Path) -> Iterator[Engine]:
    port = free_port()
    proc = stack.engine(port, run_dir / "mongo", run_dir / "logs").start()
    yield Engine(proc, port)
    proc.stop()


@pytest.fixture(scope="session")
def stripe_api(run_dir: Path) -> Iterator[str]:
    """The local Stripe stand-in, one per session; tests sign and deliver its events themselves."""
    port = free_port()
    proc = stack.stripe_fake(port, run_dir / "logs").start()
    yield f"http://127.0.0.1:{port}"
    proc.stop()


@pytest.fixture(scope="session")
def s3(run_dir: Path) -> Iterator[str]:
    """The moto S3 server, one per session, with the media bucket created."""
    port = free_port()
    proc = stack.s3(port, run_dir / "logs").start()
    url = f"http://127.0.0.1:{port}"
    ObjectStorage(Settings(_env_file=None, s3_endpoint_url=url)).ensure_bucket()
    yield url
    proc.stop()


@pytest.fixture
async def db_name(engine: Engine) -> AsyncIterator[str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield name
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(engine.uri)
    await client.drop_database(name)
    await client.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.now(UTC).replace(microsecond=0))


def service_env(uri: str, db: str, stripe_api: str | None = None, s3: str | None = None) -> dict[str, str]:
    """What a real service process of the suite runs with (no .env file of the developer leaks in)."""
    return {
        "ENVIRONMENT": "test",
        "MONGODB_URI": uri,
        "MONGODB_DB": db,
        "JWT_SECRET": TEST_JWT_SECRET,
        "INTERNAL_API_TOKEN": TEST_INTERNAL_TOKEN,
        "LOG_LEVEL": "WARNING",
        "SCHEDULER_ENABLED": "false",
        # The suite registers and logs in hundreds of accounts from one address; the limits' own tests
        # turn them back on.
        "HTTP_RATE_LIMITS": "false",
        "CHAT_MESSAGE_RATE": f"{CHAT_MESSAGE_LIMIT}/10 seconds",
        "STRIPE_WEBHOOK_SECRET": TEST_STRIPE_WEBHOOK_SECRET,
        # No Stripe call may leave the machine: without the stand-in, a port nothing listens on.
        "STRIPE_API_BASE": stripe_api or f"http://127.0.0.1:{free_port()}",
        "S3_ENDPOINT_URL": s3 or f"http://127.0.0.1:{free_port()}",
    }


@pytest.fixture
def settings(engine: Engine, db_name: str, stripe_api: str, s3: str) -> Settings:
    return Settings(
        _env_file=None,
        environment=Environment.test,
        mongodb_uri=engine.uri,
        mongodb_db=db_name,
        jwt_secret=TEST_JWT_SECRET,  # type: ignore[arg-type]
        internal_api_token=TEST_INTERNAL_TOKEN,  # type: ignore[arg-type]
        # In-process apps have no chat server: a port nothing listens on (never a developer's running one).
        chat_internal_url=f"http://127.0.0.1:{free_port()}",
        scheduler_enabled=False,  # tests drive the jobs themselves, with the injected clock
        http_rate_limits=False,  # see service_env
        stripe_api_base=stripe_api,
        stripe_webhook_secret=TEST_STRIPE_WEBHOOK_SECRET,  # type: ignore[arg-type]
        s3_endpoint_url=s3,
    )


@pytest.fixture
def chat_settings(settings: Settings) -> ChatSettings:
    return ChatSettings(
        _env_file=None,
        environment=settings.environment,
        mongodb_uri=settings.mongodb_uri,
        mongodb_db=settings.mongodb_db,
        jwt_secret=settings.jwt_secret,
        internal_api_token=settings.internal_api_token,
    )


@pytest.fixture
async def platform_app(settings: Settings, clock: ManualClock) -> AsyncIterator[FastAPI]:
    app = create_platform_app(settings, clock)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def api(platform_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    # https: the suite runs with Environment.test, so session cookies are Secure, as in production.
    transport = httpx.ASGITransport(app=platform_app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        yield client


@pytest.fixture
def api_factory(platform_app: FastAPI) -> "ClientFactory":
    return ClientFactory(platform_app)


class ClientFactory:
    """Independent clients (own cookie jars) against the same in-process app."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def __call__(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="https://testserver")


@pytest.fixture
async def chat_app(chat_settings: ChatSettings, clock: ManualClock) -> AsyncIterator[ChatApp]:
    app = create_chat_app(chat_settings, clock)
    async with app.http.router.lifespan_context(app.http):
        yield app


@dataclass
class LiveStack:
    """The platform and the chat server as real uvicorn processes on one engine and one database."""

    platform: ManagedProcess
    chat: ManagedProcess
    platform_url: str
    chat_url: str
    mongodb_uri: str
    db_name: str
    stripe_api: str


@pytest.fixture(scope="session")
def live_stack(engine: Engine, run_dir: Path, s3: str) -> Iterator[LiveStack]:
    # One database for the session's real processes; tests keep apart by using their own accounts.
    db = f"e2e_{uuid.uuid4().hex[:8]}"
    platform_port, chat_port, stripe_port = free_port(), free_port(), free_port()
    # Its own Stripe stand-in, delivering signed webhooks to this platform, as the dev launcher wires it.
    webhook_url = f"http://127.0.0.1:{platform_port}/api/v1/billing/webhook"
    stripe = stack.stripe_fake(stripe_port, run_dir / "logs", webhook_url, TEST_STRIPE_WEBHOOK_SECRET).start()
    stripe_api = f"http://127.0.0.1:{stripe_port}"
    env = {
        **service_env(engine.uri, db, stripe_api, s3),
        "CHAT_INTERNAL_URL": f"http://127.0.0.1:{chat_port}",
        # JSON lines at INFO: the observability tests follow a request id through both services' logs.
        "LOG_LEVEL": "INFO",
        "LOG_JSON": "true",
    }
    started = [stripe]
    try:
        started.append(stack.platform(platform_port, env, run_dir / "logs").start())
        started.append(stack.chat(chat_port, env, run_dir / "logs").start())
    except BaseException:
        for proc in reversed(started):
            proc.stop()
        raise
    yield LiveStack(
        started[1],
        started[2],
        f"http://127.0.0.1:{platform_port}",
        f"http://127.0.0.1:{chat_port}",
        engine.uri,
        db,
        stripe_api,
    )
    for proc in reversed(started):
        proc.stop()


def run_create_admin(uri: str, db: str, password: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m scripts.create_admin ARGS` against a database, as ops run it."""
    return subprocess.run(
        [sys.executable, "-m", "scripts.create_admin", *args],
        env={**os.environ, **service_env(uri, db), "ADMIN_PASSWORD": password},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def live_admin(live_stack: LiveStack) -> Account:
    """An admin of the live stack (created by the ops script, then logged in over HTTP)."""
    email, password = f"ops-{uuid.uuid4().hex[:8]}@example.com", "a long admin password"
    made = run_create_admin(live_stack.mongodb_uri, live_stack.db_name, password, email)
    assert made.returncode == 0, made.stderr
    with httpx.Client(base_url=live_stack.platform_url, timeout=20) as client:
        response = client.post(f"{API}/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return account_of(response.json())
