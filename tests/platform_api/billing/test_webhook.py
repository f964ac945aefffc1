"""The Stripe webhook: signatures, idempotency under redelivery and concurrency, order-proofing, tiers."""

import asyncio
import itertools
import json
import random
import time
from typing import Any

import httpx
import pytest

from scripts.stripe_fake.control import change_subscription
from shared_models.documents import OutboxEvent, ProcessedStripeEvent, WebhookDelivery
from shared_models.enums import Role
from tests.factories import API, Account, deliver, register, signed
from tests.platform_api.billing.helpers import (
    matches_stripe,
    paid_checkout,
    stored,
    stripe_get,
    stripe_unreachable,
    subscription_id,
)


@pytest.fixture
async def provider(api: httpx.AsyncClient) -> Account:
    return await register(api, Role.provider)


async def outbox_types(provider: Account) -> list[str]:
    events = await OutboxEvent.find({"aggregate_id": provider.body["provider"]["id"]}).to_list()
    return sorted(e.type for e in events)


def forgeries(event: dict[str, Any]) -> dict[str, tuple[str, dict[str, str]]]:
    payload, good = signed(event)
    tampered = json.loads(payload)
    tampered["data"]["object"]["status"] = "active"
    tampered["id"] = "evt_forged"
    return {
        "wrong secret": signed(event, secret="whsec_not_ours_0123456789abcdef"),
        "no signature": (payload, {"Content-Type": "application/json"}),
        "stale": signed(event, timestamp=int(time.time()) - 3600),
        "tampered body": (json.dumps(tampered), good),
        "garbage header": (payload, {"Content-Type": "application/json", "Stripe-Signature": "t=abc,v1=zz"}),
    }


async def test_forged_missing_and_stale_signatures_get_400_and_write_nothing(
    api: httpx.AsyncClient, provider: Account
) -> None:
    events = await paid_checkout(api, provider)
    for name, (payload, headers) in forgeries(events[0]).items():
        response = await api.post(f"{API}/billing/webhook", content=payload, headers=headers)
        assert response.status_code == 400, name
        assert response.json()["error"]["code"] == "invalid_signature", name
    assert await stored(provider) is None
    assert await ProcessedStripeEvent.count() == 0
    assert await outbox_types(provider) == []
    ledger = await WebhookDelivery.find_all().to_list()
    assert len(ledger) == 5 and all(not d.signature_valid and d.outcome == "rejected" for d in ledger)

    # The same event, correctly signed, is then accepted: the 400s were about the signatures alone.
    assert (await deliver(api, events[0])).status_code == 200
    assert (await stored(provider)) is not None


async def test_the_same_event_ten_times_including_concurrently_has_one_effect(
    api: httpx.AsyncClient, provider: Account
) -> None:
    events = await paid_checkout(api, provider)
    created = events[0]
    concurrent = await asyncio.gather(*(deliver(api, created) for _ in range(7)))
    sequential = [await deliver(api, created) for _ in range(3)]
    assert [r.status_code for r in concurrent + sequential] == [200] * 10
    outcomes = [r.json()["outcome"] for r in concurrent + sequential]
    assert outcomes.count("processed") == 1 and outcomes.count("duplicate") == 9, outcomes

    assert await outbox_types(provider) == ["subscription.activated"]
    assert await ProcessedStripeEvent.find(ProcessedStripeEvent.event_id == created["id"]).count() == 1
    view = await stored(provider)
    assert view is not None and view.status == "active" and view.tier == "basic"
    assert await WebhookDelivery.find(WebhookDelivery.event_id == created["id"]).count() == 10


async def lifecycle(
    api: httpx.AsyncClient, provider: Account, steps: int
) -> tuple[str, list[dict[str, Any]]]:
    """created → updated (tier change) → updated (cancel at period end) → deleted, the first `steps` of it,
    happening at Stripe with nothing delivered yet. Returns the subscription and the events in order."""
    events = await paid_checkout(api, provider, "basic")
    sub_id = subscription_id(events)
    stripe_api = (await api.post(f"{API}/billing/portal-session", headers=provider.bearer)).json()["url"]
    stripe_api = stripe_api.split("/portal/")[0]
    actions: list[tuple[str, dict[str, Any]]] = [
        ("update", {"price": "price_pro_monthly"}),
        ("update", {"cancel_at_period_end": True}),
        ("cancel", {}),
    ]
    for action, changes in actions[: steps - 1]:
        events += await change_subscription(stripe_api, sub_id, action, **changes)
    return sub_id, events


@pytest.mark.parametrize("steps", [2, 3, 4])
async def test_shuffled_deliveries_end_in_stripes_latest_state(
    api: httpx.AsyncClient, stripe_api: str, steps: int
) -> None:
    orders = list(itertools.permutations(range(4)))
    sample = [orders[0], orders[-1], *random.Random(steps).sample(orders[1:-1], 4)]
    for order in sample:
        provider = await register(api, Role.provider)
        sub_id, events = await lifecycle(api, provider, steps)
        lifecycle_events = [e for e in events if e["type"].startswith("customer.subscription.")]
        others = [e for e in events if not e["type"].startswith("customer.subscription.")]
        shuffled = [lifecycle_events[i] for i in order if i < len(lifecycle_events)] + others[::-1]
        for event in shuffled:
            assert (await deliver(api, event)).status_code == 200
        latest = await stripe_get(stripe_api, f"/v1/subscriptions/{sub_id}")
        assert matches_stripe(await stored(provider), latest), (steps, order)


async def test_concurrent_deliveries_of_a_whole_lifecycle_end_in_stripes_latest_state(
    api: httpx.AsyncClient, stripe_api: str
) -> None:
    provider = await register(api, Role.provider)
    sub_id, events = await lifecycle(api, provider, 3)
    responses = await asyncio.gather(*(deliver(api, e) for e in [*events, *events]))
    assert all(r.status_code == 200 for r in responses)
    latest = await stripe_get(stripe_api, f"/v1/subscriptions/{sub_id}")
    assert matches_stripe(await stored(provider), latest)
    # Activated once and the scheduled cancellation once, whatever the interleaving.
    assert await outbox_types(provider) == ["subscription.activated", "subscription.cancelled"]


async def test_notifications_follow_the_lifecycle_as_it_happens(
    api: httpx.AsyncClient, stripe_api: str
) -> None:
    """Delivered as Stripe sends them (each step's events before the next step), every change is notified."""
    provider = await register(api, Role.provider)
    events = await paid_checkout(api, provider, "basic")
    sub_id = subscription_id(events)
    for event in events:
        assert (await deliver(api, event)).status_code == 200
    changes_in_order: list[tuple[str, dict[str, Any]]] = [
        ("update", {"price": "price_pro_monthly"}),
        ("update", {"cancel_at_period_end": True}),
        ("cancel", {}),
    ]
    for action, changes in changes_in_order:
        for event in await change_subscription(stripe_api, sub_id, action, **changes):
            assert (await deliver(api, event)).status_code == 200
    outbox = (
        await OutboxEvent.find({"aggregate_id": provider.body["provider"]["id"]})
        .sort("occurred_at")
        .to_list()
    )
    assert [e.type for e in outbox] == [
        "subscription.activated",
        "subscription.tier_changed",
        "subscription.cancelled",
    ]
    assert outbox[1].payload["previous_tier"] == "basic" and outbox[1].payload["tier"] == "pro"
    assert outbox[2].payload["at_period_end"] is True
    assert all(e.payload["provider_user_id"] == provider.id for e in outbox)
    view = await stored(provider)
    assert view is not None and view.status == "canceled" and not view.entitled


async def test_delivered_late_only_the_observed_changes_are_notified(api: httpx.AsyncClient) -> None:
    """Re-fetching means a subscription that changed three times before we heard of it is seen once, in its
    latest state: one activation and one scheduled cancellation, never a stale tier change."""
    provider = await register(api, Role.provider)
    _, events = await lifecycle(api, provider, 3)
    for event in reversed(events):
        assert (await deliver(api, event)).status_code == 200
    assert await outbox_types(provider) == ["subscription.activated", "subscription.cancelled"]


async def test_a_failed_payment_is_recorded_and_notified_once(
    api: httpx.AsyncClient, stripe_api: str
) -> None:
    provider = await register(api, Role.provider)
    events = await paid_checkout(api, provider)
    for event in events:
        await deliver(api, event)
    failed = await change_subscription(stripe_api, subscription_id(events), "payment_failed")
    for event in [*failed, *failed]:
        assert (await deliver(api, event)).status_code == 200
    view = await stored(provider)
    assert view is not None and view.status == "past_due" and view.entitled  # Stripe is still retrying
    assert await outbox_types(provider) == ["subscription.activated", "subscription.payment_failed"]


async def test_a_price_in_no_slot_is_recorded_as_tier_unknown(
    api: httpx.AsyncClient, stripe_api: str
) -> None:
    provider = await register(api, Role.provider)
    events = await paid_checkout(api, provider, "premium")
    events += await change_subscription(
        stripe_api, subscription_id(events), "update", price="price_legacy_2019"
    )
    for event in events:
        assert (await deliver(api, event)).status_code == 200
    body = (await api.get(f"{API}/billing/subscription", headers=provider.bearer)).json()
    assert body["tier"] == "unknown" and body["price_id"] == "price_legacy_2019"
    assert body["status"] == "active" and body["accepts_requests"] is True


async def test_events_of_other_kinds_or_strangers_are_acknowledged_and_ignored(
    api: httpx.AsyncClient,
) -> None:
    ping = {
        "id": "evt_ping",
        "object": "event",
        "type": "charge.refunded",
        "data": {"object": {"id": "ch_1"}},
    }
    stranger = {
        "id": "evt_stranger",
        "object": "event",
        "type": "customer.subscription.updated",
        "data": {"object": {"id": "sub_not_ours", "customer": "cus_not_ours", "metadata": {}}},
    }
    for event in (ping, stranger):
        response = await deliver(api, event)
        assert response.status_code == 200 and response.json()["outcome"] == "ignored", response.text


async def test_stripe_unreachable_answers_503_and_a_redelivery_succeeds(
    api: httpx.AsyncClient, platform_app: Any, provider: Account, stripe_api: str
) -> None:
    events = await paid_checkout(api, provider)
    with stripe_unreachable(platform_app):
        failed = await deliver(api, events[0])
    assert failed.status_code == 503 and failed.json()["error"]["code"] == "stripe_unavailable"
    assert await stored(provider) is None
    record = await WebhookDelivery.find_one(WebhookDelivery.event_id == events[0]["id"])
    assert (
        record is not None
        and record.outcome == "failed"
        and (record.error or "").startswith("StripeUnavailable")
    )
    assert "APIConnectionError" in (record.traceback or "")

    retried = await deliver(api, events[0])
    assert retried.status_code == 200 and retried.json()["outcome"] == "processed"
    assert await outbox_types(provider) == ["subscription.activated"]
