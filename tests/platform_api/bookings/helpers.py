"""Booking factories: parties and requests in one call, driven to any state through the real service."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from platform_api.bookings.schemas import CreateRequest
from platform_api.bookings.service import Actor, booking_service
from shared_models.documents import ServiceRequest, User
from shared_models.enums import ActorRole, RequestEvent, RequestState, Role
from tests.factories import API, Account, register, register_subscribed

# How to reach each state from `requested`: the events, in order, and who triggers them.
PATHS: dict[RequestState, list[tuple[RequestEvent, str]]] = {
    RequestState.requested: [],
    RequestState.accepted: [(RequestEvent.accept, "provider")],
    RequestState.declined: [(RequestEvent.decline, "provider")],
    RequestState.cancelled: [(RequestEvent.cancel, "customer")],
    RequestState.expired: [(RequestEvent.expire, "system")],
    RequestState.completed: [(RequestEvent.accept, "provider"), (RequestEvent.complete, "provider")],
    RequestState.confirmed: [
        (RequestEvent.accept, "provider"),
        (RequestEvent.complete, "provider"),
        (RequestEvent.confirm, "customer"),
    ],
    RequestState.auto_confirmed: [
        (RequestEvent.accept, "provider"),
        (RequestEvent.complete, "provider"),
        (RequestEvent.auto_confirm, "system"),
    ],
    RequestState.disputed: [
        (RequestEvent.accept, "provider"),
        (RequestEvent.complete, "provider"),
        (RequestEvent.dispute, "customer"),
    ],
    RequestState.resolved: [
        (RequestEvent.accept, "provider"),
        (RequestEvent.complete, "provider"),
        (RequestEvent.dispute, "customer"),
        (RequestEvent.resolve, "admin"),
    ],
}
# Admins act on requests only through the disputes service; the table tests use this stand-in.
ADMIN = Actor(id="a" * 24, role=ActorRole.admin)


@dataclass
class Parties:
    customer: Account
    provider: Account
    other_customer: Account
    other_provider: Account

    @property
    def provider_id(self) -> str:
        return str(self.provider.body["provider"]["id"])


async def make_parties(api: httpx.AsyncClient) -> Parties:
    return Parties(
        customer=await register(api, Role.customer),
        provider=await register_subscribed(api),
        other_customer=await register(api, Role.customer),
        other_provider=await register_subscribed(api),
    )


def request_payload(provider_id: str, now: datetime, **overrides: Any) -> dict[str, Any]:
    start = now + timedelta(days=3)
    payload: dict[str, Any] = {
        "provider_id": provider_id,
        "category": "cleaning",
        "description": "Deep clean of a two-bedroom flat.",
        "address": "12 Example Street, London",
        "location": {"lat": 51.5, "lng": -0.12},
        "window": {"start": start.isoformat(), "end": (start + timedelta(hours=3)).isoformat()},
        "quote": {"amount_minor": 12000, "currency": "GBP"},
    }
    payload.update(overrides)
    return payload


async def book(api: httpx.AsyncClient, parties: Parties, now: datetime, **overrides: Any) -> dict[str, Any]:
    response = await api.post(
        f"{API}/requests",
        json=request_payload(parties.provider_id, now, **overrides),
        headers=parties.customer.bearer,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def actors(parties: Parties) -> dict[str, Actor]:
    customer = await User.get(parties.customer.id)
    provider = await User.get(parties.provider.id)
    assert customer is not None and provider is not None
    return {"customer": Actor.of(customer), "provider": Actor.of(provider), "admin": ADMIN}


async def create_direct(parties: Parties, now: datetime) -> ServiceRequest:
    """Create through the service (no HTTP), for tests that make many requests."""
    customer = await User.get(parties.customer.id)
    assert customer is not None
    data = CreateRequest.model_validate(request_payload(parties.provider_id, now))
    return await booking_service.create(customer, data, now)


async def drive_to(parties: Parties, state: RequestState, now: datetime) -> tuple[ServiceRequest, datetime]:
    """A fresh request brought to `state` by legal transitions; returns it and the time it got there."""
    from platform_api.bookings.service import SYSTEM

    request = await create_direct(parties, now)
    who = await actors(parties)
    for event, actor_name in PATHS[state]:
        if actor_name == "system":
            due = request.respond_by if event is RequestEvent.expire else request.confirm_by
            assert due is not None
            now = due
            request = await booking_service.transition(request, event, SYSTEM, now)
        else:
            request = await booking_service.transition(
                request, event, who[actor_name], now, reason="test reason"
            )
    assert request.state is state
    return request, now
