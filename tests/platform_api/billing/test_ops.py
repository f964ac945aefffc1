"""Ops paths into the one handler: the replay script, the daily drift check, and the sweeper that finishes
an outbox move a crash interrupted."""

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from structlog.testing import capture_logs

from platform_api.billing.webhook import StripeWebhook
from platform_api.config import Settings
from platform_api.outbox.service import OutboxService
from platform_api.scheduler import JobRunner
from scripts.stripe_fake.control import change_subscription
from shared_models.clock import ManualClock
from shared_models.documents import OutboxEvent, WebhookDelivery
from shared_models.enums import Role
from tests.conftest import Engine
from tests.factories import deliver, register, subscribe
from tests.platform_api.billing.helpers import (
    matches_stripe,
    paid_checkout,
    replay,
    stored,
    stripe_get,
    subscription_id,
)


async def test_replay_refetches_missed_events_and_feeds_the_same_handler(
    api: httpx.AsyncClient, engine: Engine, db_name: str, stripe_api: str
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    provider = await register(api, Role.provider)
    events = await paid_checkout(api, provider, "pro")  # paid at Stripe; every delivery lost
    assert await stored(provider) is None

    first = await asyncio.to_thread(replay, engine, db_name, stripe_api, since)
    assert first.returncode == 0, first.stderr
    for event in events:
        assert event["id"] in first.stdout
    view = await stored(provider)
    assert view is not None and view.status == "active" and view.tier == "pro"
    assert await WebhookDelivery.find(WebhookDelivery.source == "replay").count() >= len(events)

    again = await asyncio.to_thread(replay, engine, db_name, stripe_api, since)
    assert again.returncode == 0 and "processed" not in again.stdout.split("replayed:")[1], again.stdout
    assert await OutboxEvent.find({"aggregate_id": provider.body["provider"]["id"]}).count() == 1


async def test_the_drift_check_repairs_through_the_handler_and_logs_each_difference(
    api: httpx.AsyncClient, settings: Settings, clock: ManualClock, stripe_api: str
) -> None:
    provider = await register(api, Role.provider)
    await subscribe(api, provider, "basic")
    view = await stored(provider)
    assert view is not None
    # Changed at Stripe, and the webhook never arrived (e.g. an endpoint misconfigured for a day).
    await change_subscription(
        stripe_api, view.stripe_subscription_id, "update", price="price_premium_monthly"
    )

    runner = JobRunner(settings, clock)
    with capture_logs() as logs:
        assert await runner.run("billing.check_drift") == 1
    drift = [entry for entry in logs if entry["event"] == "billing.drift"]
    assert {(d["field"], d["stored"], d["stripe"]) for d in drift} == {
        ("price_id", "price_basic_monthly", "price_premium_monthly"),
        ("tier", "basic", "premium"),
    }
    latest = await stripe_get(stripe_api, f"/v1/subscriptions/{view.stripe_subscription_id}")
    assert matches_stripe(await stored(provider), latest)
    assert await WebhookDelivery.find(WebhookDelivery.source == "drift_check").count() == 1
    tier_changes = await OutboxEvent.find({"type": "subscription.tier_changed"}).to_list()
    assert [e.payload["tier"] for e in tier_changes] == ["premium"]
    assert await runner.run("billing.check_drift") == 0  # nothing left to repair


async def test_a_crash_between_state_and_outbox_is_finished_by_redelivery_or_sweeper(
    api: httpx.AsyncClient, platform_app: object, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Crash(Exception):
        pass

    async def crash(*_: object) -> int:
        raise Crash

    provider = await register(api, Role.provider)
    events = await paid_checkout(api, provider)
    monkeypatch.setattr(OutboxService, "append", crash)
    assert (await deliver(api, events[0])).status_code == 500
    monkeypatch.undo()
    view = await stored(provider)
    assert view is not None and view.status == "active"  # the state landed, with its event pending
    provider_id = provider.body["provider"]["id"]
    assert await OutboxEvent.find({"aggregate_id": provider_id}).count() == 0

    webhook: StripeWebhook = platform_app.state.stripe_webhook  # type: ignore[attr-defined]
    assert await webhook.publish_stale(clock.now()) == 0  # too fresh: the normal path may still finish it
    clock.advance(timedelta(seconds=31))
    assert await webhook.publish_stale(clock.now()) == 1
    assert await webhook.publish_stale(clock.now()) == 0
    # Stripe's retry of the same event is now a duplicate, and the activation was recorded exactly once.
    retry = await deliver(api, events[0])
    assert retry.status_code == 200 and retry.json()["outcome"] == "duplicate"
    assert [e.type for e in await OutboxEvent.find({"aggregate_id": provider_id}).to_list()] == [
        "subscription.activated"
    ]


async def test_a_redelivery_after_a_crash_publishes_what_was_pending(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def crash(*_: object) -> int:
        raise RuntimeError("crash")

    provider = await register(api, Role.provider)
    events = await paid_checkout(api, provider)
    monkeypatch.setattr(OutboxService, "append", crash)
    assert (await deliver(api, events[0])).status_code == 500
    monkeypatch.undo()
    assert (await deliver(api, events[0])).status_code == 200  # Stripe retries the 500
    found = await OutboxEvent.find({"aggregate_id": provider.body["provider"]["id"]}).to_list()
    assert [e.type for e in found] == ["subscription.activated"]
    assert subscription_id(events).startswith("sub_")
