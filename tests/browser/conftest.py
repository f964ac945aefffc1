"""The admin console in a real browser: Debian's Chromium, headless, driven by Playwright, against the live
stack's platform process (which serves the built console at /admin/).

The browser is Debian's package (`scripts/test.sh` installs it when missing; `CHROMIUM_PATH` names another
binary): Playwright's own browser download cannot run here. The flags are those Chromium needs in a sandbox
without a network (no background networking, no first-run, no GPU) and as root (no sandbox).
"""

import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, async_playwright, expect

from platform_api.admin.console import CONSOLE_DIR
from platform_api.auth.service import auth_service
from platform_api.config import Settings
from platform_api.notifications.relay import NotificationRelay
from platform_api.realtime import RealtimeClient
from scripts.seed import DEMO_ADMIN, DEMO_CUSTOMER, DEMO_PASSWORD
from shared_models.clock import SystemClock
from shared_models.runtime.registry import connect, init_models
from tests.conftest import TEST_INTERNAL_TOKEN, LiveStack, service_env
from tests.factories import API, Account, account_of

ROOT = Path(__file__).resolve().parents[2]
# Where the tests write a screenshot of each page at each width (README: "Admin console").
SCREENSHOTS = ROOT / ".data" / "screenshots" / "admin"
AXE = ROOT / "tests" / "js" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
LAPTOP = {"width": 1366, "height": 768}
TABLET = {"width": 768, "height": 1024}


@pytest.fixture(scope="session")
def built() -> None:
    assert Path(CHROMIUM).is_file(), f"no Chromium at {CHROMIUM}: `bash scripts/test.sh` installs Debian's"
    assert (CONSOLE_DIR / "dist" / "index.html").is_file(), "run `.venv/bin/python -m scripts.console build`"


@pytest.fixture(scope="session")
async def browser(built: None) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        await launched.close()


@dataclass
class Tab:
    """A page of a fresh browser context, recording what the page reported as an error."""

    page: Page
    context: BrowserContext
    console: str
    errors: list[str] = field(default_factory=list)

    async def open(self, fragment: str = "") -> None:
        await self.page.goto(self.console + fragment)

    def no_errors(self, *refused: int) -> None:
        """Nothing went wrong in the page but the API's refusals with these statuses, which Chromium reports
        as failed resource loads (the test made them happen on purpose)."""
        expected = {f"the server responded with a status of {status} " for status in refused}
        unexpected = [e for e in self.errors if not any(text in e for text in expected)]
        assert unexpected == [], unexpected


@pytest.fixture
async def tabs(browser: Browser, live_stack: LiveStack) -> AsyncIterator[Any]:
    """`await tabs(**context options)` → a new Tab; every context is closed at the end."""
    contexts: list[BrowserContext] = []

    async def new(**options: Any) -> Tab:
        context = await browser.new_context(viewport=options.pop("viewport", LAPTOP), **options)
        contexts.append(context)
        page = await context.new_page()
        tab = Tab(page, context, f"{live_stack.platform_url}/admin/")

        def report(message: ConsoleMessage) -> None:
            # How the console learns there is no session: its question to /auth/me answers 401.
            no_session = (
                message.location.get("url", "").endswith(f"{API}/auth/me") and " 401 " in message.text
            )
            if message.type == "error" and not no_session:
                tab.errors.append(f"{message.text} ({message.location.get('url')})")

        page.on("console", report)
        page.on("pageerror", lambda error: tab.errors.append(str(error)))
        return tab

    yield new
    for context in contexts:
        await context.close()


@dataclass
class Demo:
    """What `python -m scripts.seed` made in the live stack's database."""

    admin: Account
    customer: Account
    dispute: dict[str, Any]


@pytest.fixture(scope="session")
def demo(live_stack: LiveStack, s3: str) -> Demo:
    env = {**os.environ, **service_env(live_stack.mongodb_uri, live_stack.db_name, live_stack.stripe_api, s3)}
    seeded = subprocess.run(
        [sys.executable, "-m", "scripts.seed"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    with httpx.Client(base_url=live_stack.platform_url, timeout=30) as client:
        admin = login(client, DEMO_ADMIN)
        customer = login(client, DEMO_CUSTOMER)
        disputes = client.get(f"{API}/disputes", headers=customer.bearer)
        assert disputes.status_code == 200, disputes.text
    [dispute] = disputes.json()["items"]
    return Demo(admin, customer, dispute)


@asynccontextmanager
async def live_database(live_stack: LiveStack) -> AsyncIterator[None]:
    """This test's own connection to the live stack's database, for what ops and jobs run in-process."""
    client = connect(live_stack.mongodb_uri, 5000)
    try:
        await init_models(client, live_stack.db_name)
        yield
    finally:
        await client.close()


async def relay_notifications(live_stack: LiveStack) -> None:
    """What the platform's scheduler does every few seconds (the suite's live stack runs no scheduler): turn
    the outbox's waiting events into notifications and push them to the chat server."""
    settings = Settings(
        _env_file=None,
        mongodb_uri=live_stack.mongodb_uri,
        mongodb_db=live_stack.db_name,
        internal_api_token=TEST_INTERNAL_TOKEN,  # type: ignore[arg-type]
        chat_internal_url=live_stack.chat_url,
    )
    async with live_database(live_stack):
        realtime = RealtimeClient(settings)
        try:
            assert await NotificationRelay(realtime, SystemClock()).drain() > 0
        finally:
            await realtime.aclose()


async def another_admin(live_stack: LiveStack) -> tuple[str, str]:
    """A second admin of the live stack, made by the service `scripts.create_admin` runs: (email, password)."""
    email, password = f"second-admin-{uuid.uuid4().hex[:8]}@example.com", "a long admin password"
    async with live_database(live_stack):
        await auth_service.create_admin(email, password, "Second Admin", SystemClock())
    return email, password


def login(client: httpx.Client, email: str, password: str = DEMO_PASSWORD) -> Account:
    response = client.post(f"{API}/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return account_of(response.json())


async def sign_in(tab: Tab, email: str, password: str = DEMO_PASSWORD) -> None:
    """Through the console's own form, by keyboard: type, then Enter."""
    await tab.open()
    await tab.page.get_by_label("Email").fill(email)
    await tab.page.get_by_label("Password").fill(password)
    await tab.page.get_by_label("Password").press("Enter")


async def sign_in_admin(tab: Tab, email: str, password: str = DEMO_PASSWORD) -> None:
    """`sign_in`, then wait for the console's first page: the disputes queue."""
    await sign_in(tab, email, password)
    await expect(tab.page.get_by_role("heading", name="Disputes")).to_be_visible()


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it stands (WCAG 2.x A and AA rules)."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.evaluate(AXE.read_text())
    results = await page.evaluate(
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def dumps(value: Any) -> str:
    return json.dumps(value, indent=1)
