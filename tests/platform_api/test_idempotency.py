"""Retried creates make one resource: every create operation takes an `Idempotency-Key` (Stripe's
semantics). The table below names each create with a fresh request for it, a different request, and how
to count what it made; each is replayed in sequence and sent concurrently with one key."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI

from platform_api.config import Settings
from platform_api.idempotency import HEADER, LEASE, REPLAYED_HEADER, TTL, IdempotentRoute, scoped_key
from platform_api.main import create_app
from shared_models.clock import ManualClock
from shared_models.documents import (
    BookingPayment,
    ConnectedAccount,
    Conversation,
    Dispute,
    DisputeEvidence,
    IdempotentRequest,
    MediaObject,
    Review,
    ServiceRequest,
)
from shared_models.enums import RequestState, Role
from tests.factories import API, Account, register
from tests.platform_api.bookings.helpers import Parties, drive_to, request_payload
from tests.platform_api.disputes.helpers import open_dispute
from tests.platform_api.payments.helpers import card_booking, onboard
from tests.routes import api_routes

Count = Callable[[], Awaitable[int]]


@dataclass
class Create:
    path: str
    who: Account
    body: dict[str, Any] | None
    other: dict[str, Any] | None  # another request for the same operation (None: it takes no body)
    # How many resources the calls made, read from the database. None where the resource lives at
    # Stripe (the stand-in lists no sessions): there the one session is the one id every answer names.
    count: Count | None


async def _count(model: Any, **query: str) -> int:
    n: int = await model.find(query).count()
    return n


async def service_request(api: httpx.AsyncClient, parties: Parties, clock: ManualClock) -> Create:
    customer = parties.customer
    return Create(
        f"{API}/requests",
        customer,
        request_payload(parties.provider_id, clock.now()),
        request_payload(parties.provider_id, clock.now(), description="Something else entirely."),
        lambda: _count(ServiceRequest, customer_id=customer.id),
    )


async def conversation(api: httpx.AsyncClient, parties: Parties, clock: ManualClock) -> Create:
    customer = parties.customer
    return Create(
        f"{API}/conversations",
        customer,
        {"provider_id": parties.provider_id},
        {"provider_id": parties.other_provider.body["provider"]["id"]},
        lambda: _count(Conversation, customer_id=customer.id),
    )


async def dispute(api: httpx.AsyncClient, parties: Parties, clock: ManualClock) -> Create:
    done, now = await drive_to(parties, RequestState.completed, clock.now())
    clock.set(now)
    return Create(
        f"{API}/requests/{done.id}/dispute",
        parties.customer,
        {"category": "poor_quality", "statement": "The tiles were left cracked."},
        {"category": "no_show", "statement": "Nobody came."},
        lambda: _count(Dispute, request_id=str(done.id)),
    )


async def evidence(api: httpx.AsyncClient, parties: Parties, clock: ManualClock) -> Create:
    disputed = await open_dispute(api, parties, clock)
    text = f"Photos follow {uuid.uuid4().hex}"
    return Create(
        f"{API}/disputes/{disputed.id}/evidence",
        parties.customer,
        {"text": text},
        {"text": "A different statement."},
        lambda: _count(DisputeEvidence, dispute_id=disputed.id, text=text),
    )


async def review(api: httpx.AsyncClient, parties: Parties, clock: ManualClock) -> Create:
    done, now = await drive_to(parties, RequestState.confirmed, clock.now())
    clock.set(now)
    return Create(
        f"{API}/requests/{done.id}/review",
        parties.customer,
        {"rating": 5, "text": "Spotless."},
        {"rating": 1, "text": "Changed my mind."},
        lambda: _count(Review, request_id=str(done.id), author_id=parties.customer.id),
    )


async def reply(api: httpx.AsyncClient, parties: Parties, clock: ManualClock) -> Create:
    done, now = await drive_to(parties, RequestState.confirmed, clock.now())
    clock.set(now)
    reviews = {}
    for who in (parties.customer, parties.provider):  # both reviewed: published, so it can be replied to
        written = await api.post(
            f"{API}/requests/{done.id}/review", json={"rating": 4, "text": "Fine."}, headers=who.bearer
        )
        assert written.status_code == 201, written.text
        reviews[who.id] = written.json()["id"]

    async def replies() -> int:
        found = await Review.get(reviews[parties.customer.id])
        return 0 if found is None or found.reply is None else 1

    return Create(
        f"{API}/reviews/{reviews[parties.customer.id]}/reply",
        parties.provider,
        {"text": "Thank you!"},
        {"text": "Something else."},
        replies,
    )


async def upload_slot(api: httpx.AsyncClient, parties: Parties, clock: ManualClock) -> Create:
    customer = parties.customer
    return Create(
        f"{API}/media/uploads",
        customer,
        {"filename": "photo.jpg", "content_type": "image/jpeg", "size": 1000},
        {"filename": "other.pdf", "content_type": "application/pdf", "size": 2000},
        lambda: _count(MediaObject, owner_id=customer.id),
    )


async def checkout_session(api: httpx.AsyncClient, parties: Parties, clock: ManualClock) -> Create:
    unsubscribed = await register(api, Role.provider)
    return Create(f"{API}/billing/checkout-session", unsubscribed, {"tier": "basic"}, {"tier": "pro"}, None)


async def portal_session(api: httpx.AsyncClient, parties: Parties, clock: ManualClock) -> Create:
    return Create(f"{API}/billing/portal-session", parties.provider, None, None, None)


async def onboarded(api: httpx.AsyncClient, parties: Parties) -> None:
    """The provider finishes Stripe onboarding (the stand-in's base is where its onboarding link points)."""
    link = await api.post(f"{API}/payments/account-link", headers=parties.provider.bearer)
    assert link.status_code == 200, link.text
    url = urlsplit(link.json()["url"])
    await onboard(api, f"{url.scheme}://{url.netloc}", parties.provider)


async def account_link(api: httpx.AsyncClient, parties: Parties, clock: ManualClock) -> Create:
    provider = await register(api, Role.provider)
    provider_id = str(provider.body["provider"]["id"])
    return Create(
        f"{API}/payments/account-link",
        provider,
        None,
        None,
        lambda: _count(ConnectedAccount, provider_id=provider_id),
    )


async def login_link(api: httpx.AsyncClient, parties: Parties, clock: ManualClock) -> Create:
    await onboarded(api, parties)
    return Create(f"{API}/payments/login-link", parties.provider, None, None, None)


async def booking_payment(api: httpx.AsyncClient, parties: Parties, clock: ManualClock) -> Create:
    await onboarded(api, parties)
    booking = await card_booking(api, parties, clock.now())
    return Create(
        f"{API}/requests/{booking.request_id}/payment",
        parties.customer,
        None,
        None,
        lambda: _count(BookingPayment, customer_id=parties.customer.id),
    )


# Every create operation, as "METHOD /path template" of the OpenAPI document.
CREATES: dict[str, Callable[[httpx.AsyncClient, Parties, ManualClock], Awaitable[Create]]] = {
    f"POST {API}/requests": service_request,
    f"POST {API}/conversations": conversation,
    f"POST {API}/requests/{{request_id}}/dispute": dispute,
    f"POST {API}/disputes/{{dispute_id}}/evidence": evidence,
    f"POST {API}/requests/{{request_id}}/review": review,
    f"POST {API}/reviews/{{review_id}}/reply": reply,
    f"POST {API}/media/uploads": upload_slot,
    f"POST {API}/billing/checkout-session": checkout_session,
    f"POST {API}/billing/portal-session": portal_session,
    f"POST {API}/payments/account-link": account_link,
    f"POST {API}/payments/login-link": login_link,
    f"POST {API}/requests/{{request_id}}/payment": booking_payment,
}


async def send(
    api: httpx.AsyncClient, create: Create, key: str | None, body: dict[str, Any] | None = None
) -> httpx.Response:
    headers = {**create.who.bearer, **({HEADER: key} if key else {})}
    return await api.post(create.path, json=body if body is not None else create.body, headers=headers)


def same_answer(first: httpx.Response, again: httpx.Response) -> None:
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert again.headers["content-type"] == first.headers["content-type"]


def test_the_openapi_declares_the_header_on_exactly_the_creates(platform_app: FastAPI) -> None:
    spec = platform_app.openapi()
    declared = set()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            params = operation.get("parameters", [])
            if any(p["in"] == "header" and p["name"] == HEADER for p in params):
                declared.add(f"{method.upper()} {path}")
                assert {"409", "422"} <= set(operation["responses"]), path
    assert declared == set(CREATES)
    checked = set()
    for path, route in api_routes(platform_app):
        if "POST" in route.methods and f"POST {path}" in CREATES:
            assert isinstance(route, IdempotentRoute), path
            checked.add(f"POST {path}")
    assert checked == set(CREATES)


@pytest.mark.parametrize("operation", list(CREATES))
async def test_a_retry_replays_the_first_answer_and_creates_nothing(
    api: httpx.AsyncClient, parties: Parties, clock: ManualClock, operation: str
) -> None:
    create = await CREATES[operation](api, parties, clock)
    before = await create.count() if create.count else 0
    key = str(uuid.uuid4())
    first = await send(api, create, key)
    assert first.status_code in (200, 201), first.text
    assert REPLAYED_HEADER not in first.headers
    again = await send(api, create, key)
    same_answer(first, again)
    assert again.headers[REPLAYED_HEADER] == "true"
    if create.count:
        assert await create.count() == before + 1
    if create.other is not None:
        reused = await send(api, create, key, create.other)
        assert reused.status_code == 422, reused.text
        assert reused.json()["error"]["code"] == "idempotency_key_reused"
        assert reused.json()["error"]["field"] == HEADER
        if create.count:
            assert await create.count() == before + 1


@pytest.mark.parametrize("operation", list(CREATES))
async def test_concurrent_calls_with_one_key_make_one_resource(
    api: httpx.AsyncClient, parties: Parties, clock: ManualClock, operation: str
) -> None:
    create = await CREATES[operation](api, parties, clock)
    before = await create.count() if create.count else 0
    key = str(uuid.uuid4())
    answers = await asyncio.gather(*(send(api, create, key) for _ in range(6)))
    assert answers[0].status_code in (200, 201), answers[0].text
    for answer in answers[1:]:
        same_answer(answers[0], answer)
    assert sum(REPLAYED_HEADER not in a.headers for a in answers) == 1  # one ran; the others replayed it
    if create.count:
        assert await create.count() == before + 1


async def test_without_a_key_a_retry_creates_again(
    api: httpx.AsyncClient, parties: Parties, clock: ManualClock
) -> None:
    """What the header is for: the double tap without it books twice."""
    create = await service_request(api, parties, clock)
    assert [(await send(api, create, None)).status_code for _ in range(2)] == [201, 201]
    assert create.count is not None and await create.count() == 2


async def test_keys_are_scoped_per_account(
    api: httpx.AsyncClient, parties: Parties, clock: ManualClock
) -> None:
    key = str(uuid.uuid4())
    mine = await send(api, await service_request(api, parties, clock), key)
    theirs_create = Create(
        f"{API}/requests",
        parties.other_customer,
        request_payload(parties.provider_id, clock.now()),
        None,
        lambda: _count(ServiceRequest, customer_id=parties.other_customer.id),
    )
    theirs = await send(api, theirs_create, key)
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"] and REPLAYED_HEADER not in theirs.headers


async def test_a_key_expires_after_24_hours(
    api: httpx.AsyncClient, parties: Parties, clock: ManualClock
) -> None:
    create = await service_request(api, parties, clock)
    key = str(uuid.uuid4())
    first = await send(api, create, key)
    clock.advance(TTL - timedelta(seconds=1))
    assert (await send(api, create, key)).headers.get(REPLAYED_HEADER) == "true"
    clock.advance(timedelta(seconds=1))
    later = await send(api, create, key)
    assert later.status_code == 201 and REPLAYED_HEADER not in later.headers
    assert later.json()["id"] != first.json()["id"]
    assert create.count is not None and await create.count() == 2
    indexes = await IdempotentRequest.get_pymongo_collection().index_information()
    ttl = [spec for spec in indexes.values() if spec["key"] == [("expires_at", 1)]]
    assert ttl and ttl[0]["expireAfterSeconds"] == 0


async def test_a_rejected_request_is_not_stored(
    api: httpx.AsyncClient, parties: Parties, clock: ManualClock
) -> None:
    """A body that fails validation never ran the create: the key stays free for the corrected request."""
    create = await service_request(api, parties, clock)
    key = str(uuid.uuid4())
    bad = await send(
        api, create, key, {**(create.body or {}), "quote": {"amount_minor": -1, "currency": "GBP"}}
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error"
    good = await send(api, create, key)
    assert good.status_code == 201 and REPLAYED_HEADER not in good.headers


async def test_a_refusal_of_the_endpoint_is_replayed(
    api: httpx.AsyncClient, parties: Parties, clock: ManualClock
) -> None:
    """The endpoint ran and said no (a dispute of a job not yet completed): the same key says no again,
    even once the job is completed; a new key is a new request."""
    accepted, now = await drive_to(parties, RequestState.accepted, clock.now())
    clock.set(now)
    create = Create(
        f"{API}/requests/{accepted.id}/dispute",
        parties.customer,
        {"category": "poor_quality", "statement": "Too early."},
        None,
        None,
    )
    key = str(uuid.uuid4())
    first = await send(api, create, key)
    assert first.status_code == 409
    again = await send(api, create, key)
    same_answer(first, again)
    assert again.headers[REPLAYED_HEADER] == "true"


@asynccontextmanager
async def platform_with(
    settings: Settings, clock: ManualClock, **updates: Any
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update=updates), clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://t") as client:
            yield client


@pytest.fixture
async def impatient(settings: Settings, clock: ManualClock) -> AsyncIterator[httpx.AsyncClient]:
    """The platform with a short wait (0.2 s) for a first call still running."""
    async with platform_with(settings, clock, idempotency_wait_seconds=0.2) as client:
        yield client


@pytest.fixture
async def limited(settings: Settings, clock: ManualClock) -> AsyncIterator[httpx.AsyncClient]:
    """The platform with its rate limits on, and one service request an hour per customer."""
    async with platform_with(
        settings, clock, http_rate_limits=True, rate_request_create_user="1/hour"
    ) as client:
        yield client


async def test_a_first_call_still_running_gets_409_then_a_dead_one_is_taken_over(
    impatient: httpx.AsyncClient, parties: Parties, clock: ManualClock
) -> None:
    create = await service_request(impatient, parties, clock)
    key = str(uuid.uuid4())
    # A first call that claimed the key and is still running (or died), as another process leaves it.
    first = await send(impatient, create, key)  # the real claim's fingerprint, then set back to running
    stored = await IdempotentRequest.find_one({"key": scoped_key(create.who.id, key)})
    assert stored is not None
    await ServiceRequest.find({"customer_id": create.who.id}).delete()
    running = stored.model_copy(update={"state": "started", "status_code": None, "body": None, "headers": {}})
    await running.replace()

    busy = await send(impatient, create, key)
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "idempotency_key_in_use"
    assert busy.headers["Retry-After"] == "1"

    clock.advance(LEASE)  # its lease is over: the call died, and the retry runs
    await ServiceRequest.find({"customer_id": create.who.id}).delete()
    taken = await send(impatient, create, key)
    assert taken.status_code == 201, taken.text
    assert REPLAYED_HEADER not in taken.headers and taken.json()["id"] != first.json()["id"]


async def test_a_rate_limited_call_is_not_stored(
    limited: httpx.AsyncClient, parties: Parties, clock: ManualClock
) -> None:
    create = await service_request(limited, parties, clock)
    assert (await send(limited, create, str(uuid.uuid4()))).status_code == 201
    key = str(uuid.uuid4())
    refused = await send(limited, create, key)
    assert refused.status_code == 429
    assert await IdempotentRequest.find_one({"key": scoped_key(create.who.id, key)}) is None


@pytest.mark.parametrize("key", ["", "x" * 256, "with space", "caf\u00e9"])
async def test_a_malformed_key_is_a_typed_422(
    api: httpx.AsyncClient, parties: Parties, clock: ManualClock, key: str
) -> None:
    create = await service_request(api, parties, clock)
    headers: dict[str, str | bytes] = {**create.who.bearer, HEADER: key.encode()}
    response = await api.post(create.path, json=create.body, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == HEADER
    assert create.count is not None and await create.count() == 0


async def test_the_web_app_may_send_the_key_and_read_the_replay_flag(
    api: httpx.AsyncClient, settings: Settings, parties: Parties, clock: ManualClock
) -> None:
    origin = settings.cors_origins[0]
    preflight = await api.options(
        f"{API}/requests",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": f"authorization,content-type,{HEADER.lower()}",
        },
    )
    assert preflight.status_code == 200, preflight.text
    assert HEADER.lower() in preflight.headers["access-control-allow-headers"].lower()
    create = await service_request(api, parties, clock)
    created = await api.post(
        create.path,
        json=create.body,
        headers={**create.who.bearer, HEADER: str(uuid.uuid4()), "Origin": origin},
    )
    assert REPLAYED_HEADER.lower() in created.headers["access-control-expose-headers"].lower()


async def test_the_same_request_spelled_differently_is_replayed(
    api: httpx.AsyncClient, parties: Parties, clock: ManualClock
) -> None:
    """The body compares by value: key order, spacing, escapes and how a number is written."""
    create = await upload_slot(api, parties, clock)
    key = str(uuid.uuid4())
    first = await send(api, create, key)
    assert first.status_code == 201
    for text in (
        '{"size": 1000.0, "content_type": "image/jpeg", "filename": "photo.jpg"}',
        '{"filename":"photo\\u002ejpg","content_type":"image/jpeg","size":1e3}',
    ):
        headers = {**create.who.bearer, HEADER: key, "Content-Type": "application/json"}
        again = await api.post(create.path, content=text, headers=headers)
        same_answer(first, again)
        assert again.headers[REPLAYED_HEADER] == "true"
    assert create.count is not None and await create.count() == 1
