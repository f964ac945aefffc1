"""Billing test helpers: a provider mid-checkout, reading Stripe's (the stand-in's) own view."""

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI

from platform_api.billing.stripe_api import stripe_client
from platform_api.entitlements import subscriptions
from platform_api.entitlements.subscriptions import SubscriptionView
from scripts.stripe_fake.control import complete_checkout
from tests.conftest import Engine, service_env
from tests.factories import Account, checkout


async def stripe_get(stripe_api: str, path: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=stripe_api) as client:
        response = await client.get(path, headers={"Authorization": "Bearer sk_test_suite"})
    response.raise_for_status()
    found: dict[str, Any] = response.json()
    return found


async def paid_checkout(
    api: httpx.AsyncClient, provider: Account, tier: str = "basic"
) -> list[dict[str, Any]]:
    """The provider pays; Stripe's events are returned undelivered, for the test to deliver as it likes."""
    session_id, stripe_api = await checkout(api, provider, tier)
    return await complete_checkout(stripe_api, session_id)


def subscription_id(events: list[dict[str, Any]]) -> str:
    created = next(e for e in events if e["type"] == "customer.subscription.created")
    sub_id: str = created["data"]["object"]["id"]
    return sub_id


async def stored(provider: Account) -> SubscriptionView | None:
    return await subscriptions.get_for_provider(provider.body["provider"]["id"])


def matches_stripe(view: SubscriptionView | None, sub: dict[str, Any]) -> bool:
    """The stored state equals Stripe's object on every field we keep."""
    item = sub["items"]["data"][0]
    return (
        view is not None
        and view.stripe_subscription_id == sub["id"]
        and view.status == sub["status"]
        and view.price_id == item["price"]["id"]
        and view.cancel_at_period_end == sub["cancel_at_period_end"]
        and view.current_period_end is not None
        and int(view.current_period_end.timestamp()) == item["current_period_end"]
    )


@contextmanager
def stripe_unreachable(app: FastAPI) -> Iterator[None]:
    """While inside, the app's webhook handler talks to a Stripe that does not answer."""
    webhook = app.state.stripe_webhook
    reachable = webhook.client
    dead = app.state.settings.model_copy(update={"stripe_api_base": "http://127.0.0.1:9"})
    webhook.client = stripe_client(dead)
    try:
        yield
    finally:
        webhook.client = reachable


def replay(
    engine: Engine, db_name: str, stripe_api: str, since: datetime
) -> subprocess.CompletedProcess[str]:
    """`python -m scripts.stripe_replay --since SINCE` against a database and a Stripe, as ops run it."""
    return subprocess.run(
        [sys.executable, "-m", "scripts.stripe_replay", "--since", since.isoformat()],
        env={**os.environ, **service_env(engine.uri, db_name, stripe_api)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
