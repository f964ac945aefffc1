"""The bookings REST API: creation, reading, acting, pagination, and who may see and do what."""

from datetime import timedelta

import httpx

from platform_api.entitlements import subscriptions
from scripts.stripe_fake.control import change_subscription
from shared_models.clock import ManualClock
from shared_models.documents import OutboxEvent, ServiceRequest
from shared_models.enums import Role
from tests.conftest import ClientFactory
from tests.factories import API, deliver, register, subscribe
from tests.platform_api.bookings.helpers import book, make_parties, request_payload


async def test_customer_books_and_the_lifecycle_runs_to_confirmation(
    api: httpx.AsyncClient, clock: ManualClock
) -> None:
    p = await make_parties(api)
    created = await book(api, p, clock.now())
    assert created["state"] == "requested" and created["version"] == 1
    assert created["respond_by"] is not None
    assert created["allowed_events"] == ["cancel"]
    assert [h["event"] for h in created["history"]] == ["create"]
    rid = created["id"]

    as_provider = await api.get(f"{API}/requests/{rid}", headers=p.provider.bearer)
    assert as_provider.json()["allowed_events"] == ["accept", "decline"]

    accepted = await api.post(
        f"{API}/requests/{rid}/accept",
        json={"quote": {"amount_minor": 15000, "currency": "GBP"}},
        headers=p.provider.bearer,
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["state"] == "accepted" and accepted.json()["quote"]["amount_minor"] == 15000
    clock.advance(timedelta(days=3))
    completed = await api.post(f"{API}/requests/{rid}/complete", headers=p.provider.bearer)
    assert completed.json()["state"] == "completed"
    assert completed.json()["confirm_by"] is not None
    confirmed = await api.post(f"{API}/requests/{rid}/confirm", headers=p.customer.bearer)
    body = confirmed.json()
    assert body["state"] == "confirmed" and body["version"] == 4 and body["allowed_events"] == []
    assert [(h["from_state"], h["to_state"], h["actor_role"]) for h in body["history"]] == [
        (None, "requested", "customer"),
        ("requested", "accepted", "provider"),
        ("accepted", "completed", "provider"),
        ("completed", "confirmed", "customer"),
    ]
    events = await OutboxEvent.find({"aggregate_id": rid}).sort("occurred_at").to_list()
    assert [e.type for e in events] == [
        "request.created",
        "request.accepted",
        "request.completed",
        "request.confirmed",
    ]


async def test_illegal_event_is_a_409_naming_state_and_allowed_events(
    api: httpx.AsyncClient, clock: ManualClock
) -> None:
    p = await make_parties(api)
    rid = (await book(api, p, clock.now()))["id"]
    response = await api.post(f"{API}/requests/{rid}/complete", headers=p.provider.bearer)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "invalid_transition"
    assert error["details"] == {"state": "requested", "allowed_events": ["accept", "decline"]}
    assert "requested" in error["message"]


async def test_customer_cannot_act_as_provider_and_vice_versa(
    api: httpx.AsyncClient, clock: ManualClock
) -> None:
    p = await make_parties(api)
    rid = (await book(api, p, clock.now()))["id"]
    customer_accepts = await api.post(f"{API}/requests/{rid}/accept", headers=p.customer.bearer)
    assert customer_accepts.status_code == 409
    assert customer_accepts.json()["error"]["details"]["allowed_events"] == ["cancel"]
    provider_cancels = await api.post(f"{API}/requests/{rid}/cancel", headers=p.provider.bearer)
    assert provider_cancels.status_code == 409
    stored = await ServiceRequest.get(rid)
    assert stored is not None and stored.state == "requested" and stored.version == 1


async def test_strangers_get_404_on_someone_elses_request(
    api: httpx.AsyncClient, api_factory: ClientFactory, clock: ManualClock
) -> None:
    p = await make_parties(api)
    rid = (await book(api, p, clock.now()))["id"]
    for stranger in (p.other_customer, p.other_provider):
        assert (await api.get(f"{API}/requests/{rid}", headers=stranger.bearer)).status_code == 404
        for event in ("accept", "cancel", "decline"):
            response = await api.post(f"{API}/requests/{rid}/{event}", headers=stranger.bearer)
            assert response.status_code == 404
            assert response.json()["error"]["code"] == "request_not_found"
        listing = await api.get(f"{API}/requests", headers=stranger.bearer)
        assert listing.json()["items"] == []
    assert (await api.get(f"{API}/requests/not-an-id", headers=p.customer.bearer)).status_code == 404
    async with api_factory() as anonymous:
        assert (await anonymous.get(f"{API}/requests/{rid}")).status_code == 401


async def test_only_customers_create_requests_and_input_is_validated(
    api: httpx.AsyncClient, clock: ManualClock
) -> None:
    p = await make_parties(api)
    now = clock.now()
    as_provider = await api.post(
        f"{API}/requests", json=request_payload(p.provider_id, now), headers=p.provider.bearer
    )
    assert as_provider.status_code == 403
    cases = [
        ({"provider_id": "6650f0c2a1b2c3d4e5f60718"}, "provider_id"),
        ({"provider_id": "nope"}, "provider_id"),
        ({"category": "plumbing"}, "category"),
        ({"category": "rocket_science"}, "category"),
        (
            {
                "window": {
                    "start": (now - timedelta(hours=1)).isoformat(),
                    "end": (now + timedelta(hours=1)).isoformat(),
                }
            },
            "window.start",
        ),
        (
            {
                "window": {
                    "start": (now + timedelta(days=2)).isoformat(),
                    "end": (now + timedelta(days=1)).isoformat(),
                }
            },
            "window",
        ),
        ({"quote": {"amount_minor": -1, "currency": "GBP"}}, "quote.amount_minor"),
        ({"quote": {"amount_minor": 100, "currency": "pounds"}}, "quote.currency"),
        ({"location": {"lat": 95, "lng": 0}}, "location.lat"),
        ({"description": ""}, "description"),
    ]
    for overrides, field in cases:
        response = await api.post(
            f"{API}/requests",
            json={**request_payload(p.provider_id, now), **overrides},
            headers=p.customer.bearer,
        )
        assert response.status_code == 422, (overrides, response.text)
        assert response.json()["error"]["field"] == field, (overrides, response.json())
    assert (
        await ServiceRequest.count() == 0
        and await OutboxEvent.find({"aggregate_type": "service_request"}).count() == 0
    )


async def test_cancelling_an_accepted_request_needs_a_reason(
    api: httpx.AsyncClient, clock: ManualClock
) -> None:
    p = await make_parties(api)
    rid = (await book(api, p, clock.now()))["id"]
    await api.post(f"{API}/requests/{rid}/accept", headers=p.provider.bearer)
    missing = await api.post(f"{API}/requests/{rid}/cancel", headers=p.customer.bearer)
    assert missing.status_code == 422 and missing.json()["error"]["field"] == "reason"
    done = await api.post(
        f"{API}/requests/{rid}/cancel",
        json={"reason": "Flooded kitchen, not today"},
        headers=p.provider.bearer,
    )
    assert done.status_code == 200
    last = done.json()["history"][-1]
    assert last["reason"] == "Flooded kitchen, not today" and last["actor_role"] == "provider"


async def test_quote_only_with_accept(api: httpx.AsyncClient, clock: ManualClock) -> None:
    p = await make_parties(api)
    rid = (await book(api, p, clock.now()))["id"]
    response = await api.post(
        f"{API}/requests/{rid}/decline",
        json={"quote": {"amount_minor": 1, "currency": "EUR"}},
        headers=p.provider.bearer,
    )
    assert response.status_code == 422 and response.json()["error"]["field"] == "quote"


async def test_responses_after_the_deadline_are_refused(api: httpx.AsyncClient, clock: ManualClock) -> None:
    p = await make_parties(api)
    rid = (await book(api, p, clock.now()))["id"]
    clock.advance(timedelta(hours=48))
    late = await api.post(f"{API}/requests/{rid}/accept", headers=p.provider.bearer)
    assert late.status_code == 409 and late.json()["error"]["code"] == "deadline_passed"


async def test_listing_filters_by_state_and_pages_with_a_stable_cursor(
    api: httpx.AsyncClient, clock: ManualClock
) -> None:
    p = await make_parties(api)
    ids = []
    for _ in range(5):
        ids.append((await book(api, p, clock.now()))["id"])
        clock.advance(timedelta(seconds=1))
    await api.post(f"{API}/requests/{ids[1]}/accept", headers=p.provider.bearer)

    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await api.get(f"{API}/requests", params=params, headers=p.customer.bearer)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))  # newest first, each exactly once

    for who in (p.customer, p.provider):
        accepted = (await api.get(f"{API}/requests", params={"state": "accepted"}, headers=who.bearer)).json()
        assert [i["id"] for i in accepted["items"]] == [ids[1]]
    bad = await api.get(f"{API}/requests", params={"cursor": "garbage"}, headers=p.customer.bearer)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "cursor"
    assert (
        await api.get(f"{API}/requests", params={"state": "nope"}, headers=p.customer.bearer)
    ).status_code == 422


async def test_the_subscription_guard_gates_accepting_and_new_requests(
    api: httpx.AsyncClient, clock: ManualClock, stripe_api: str
) -> None:
    """Only the Stripe webhook moves the guard: cancelled at Stripe → no accepting, no new requests;
    subscribed again → both work."""
    p = await make_parties(api)
    rid = (await book(api, p, clock.now()))["id"]
    current = await subscriptions.get_for_provider(p.provider_id)
    assert current is not None
    for event in await change_subscription(stripe_api, current.stripe_subscription_id, "cancel"):
        assert (await deliver(api, event)).status_code == 200

    refused = await api.post(f"{API}/requests/{rid}/accept", headers=p.provider.bearer)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "subscription_required"
    by_customer = await api.post(f"{API}/requests/{rid}/accept", headers=p.customer.bearer)
    assert (
        by_customer.json()["error"]["code"] == "invalid_transition"
    )  # not theirs to do, subscription or not
    payload = request_payload(p.provider_id, clock.now())
    new = await api.post(f"{API}/requests", json=payload, headers=p.customer.bearer)
    assert new.status_code == 409 and new.json()["error"]["code"] == "provider_unavailable"

    await subscribe(api, p.provider, "pro")
    accepted = await api.post(f"{API}/requests/{rid}/accept", headers=p.provider.bearer)
    assert accepted.status_code == 200, accepted.text
    again = await api.post(f"{API}/requests", json=payload, headers=p.customer.bearer)
    assert again.status_code == 201


async def test_a_provider_who_never_subscribed_cannot_be_booked(
    api: httpx.AsyncClient, clock: ManualClock
) -> None:
    customer = await register(api, Role.customer)
    provider = await register(api, Role.provider)
    payload = request_payload(provider.body["provider"]["id"], clock.now())
    refused = await api.post(f"{API}/requests", json=payload, headers=customer.bearer)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "provider_unavailable"
    await subscribe(api, provider)
    assert (await api.post(f"{API}/requests", json=payload, headers=customer.bearer)).status_code == 201
