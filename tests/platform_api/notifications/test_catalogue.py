"""Every type of the catalogue, produced the way the product produces it, reaches exactly its audience."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest

from chat_server.app import ChatApp
from platform_api.bookings.service import SYSTEM, booking_service
from platform_api.config import Settings
from platform_api.entitlements import subscriptions
from scripts.stripe_fake.control import change_subscription
from shared_models.clock import ManualClock
from shared_models.documents import ServiceRequest
from shared_models.enums import RequestEvent, RequestState
from shared_models.notifications import CATALOGUE, for_event
from tests.factories import API, deliver
from tests.platform_api.bookings.helpers import Parties, actors, create_direct, drive_to, make_parties
from tests.platform_api.notifications.helpers import publish, received, relay_for, types_of


@dataclass
class Ctx:
    api: httpx.AsyncClient
    parties: Parties
    clock: ManualClock
    stripe_api: str

    @property
    def ids(self) -> dict[str, str]:
        return {"customer": self.parties.customer.id, "provider": self.parties.provider.id}

    def booking(self, request_id: str = "0" * 24) -> dict[str, str]:
        return {
            "request_id": request_id,
            "customer_id": self.parties.customer.id,
            "provider_id": self.parties.provider_id,
            "provider_user_id": self.parties.provider.id,
        }


Producer = Callable[[Ctx], Awaitable[None]]


def to_state(state: RequestState) -> Producer:
    async def produce(ctx: Ctx) -> None:
        await drive_to(ctx.parties, state, ctx.clock.now())

    return produce


def cancelled_by(who: str) -> Producer:
    async def produce(ctx: Ctx) -> None:
        request = await create_direct(ctx.parties, ctx.clock.now())
        party = await actors(ctx.parties)
        if who == "provider":
            request = await booking_service.transition(
                request, RequestEvent.accept, party["provider"], ctx.clock.now()
            )
        await booking_service.transition(
            request, RequestEvent.cancel, party[who], ctx.clock.now(), reason="x"
        )

    return produce


def reminder(state: RequestState, deadline: str, lead: timedelta) -> Producer:
    async def produce(ctx: Ctx) -> None:
        request, _ = await drive_to(ctx.parties, state, ctx.clock.now())
        due = getattr(request, deadline) - lead
        ctx.clock.set(due - timedelta(seconds=1))
        assert await booking_service.remind_due(ctx.clock.now()) == 0  # not yet
        ctx.clock.set(due)
        assert await booking_service.remind_due(ctx.clock.now()) == 1
        assert await booking_service.remind_due(ctx.clock.now()) == 0  # exactly once
        stored = await ServiceRequest.get(request.id)
        assert stored is not None and stored.remind_at is None and stored.state is state

    return produce


def expire(ctx_state: RequestState) -> Producer:
    async def produce(ctx: Ctx) -> None:
        request = await create_direct(ctx.parties, ctx.clock.now())
        assert request.respond_by is not None
        await booking_service.transition(request, RequestEvent.expire, SYSTEM, request.respond_by)

    return produce


def synthetic(event_type: str, **extra: str | int) -> Producer:
    """A type's domain event as its producer records it (the producers' own tests cover the producing)."""

    async def produce(ctx: Ctx) -> None:
        base = {
            "dispute_id": "d" * 24,
            **ctx.booking(),
            "recipient_id": ctx.parties.provider.id,
            "sender_id": ctx.parties.customer.id,
            "conversation_id": "c" * 24,
        }
        await publish(event_type, {**base, **extra}, ctx.clock.now())

    return produce


def subscription(action: str, **changes: object) -> Producer:
    async def produce(ctx: Ctx) -> None:
        view = await subscriptions.get_for_provider(ctx.parties.provider_id)
        assert view is not None
        for event in await change_subscription(
            ctx.stripe_api, view.stripe_subscription_id, action, **changes
        ):
            assert (await deliver(ctx.api, event)).status_code == 200

    return produce


async def start_conversation(ctx: Ctx) -> None:
    response = await ctx.api.post(
        f"{API}/conversations",
        json={"provider_id": ctx.parties.provider_id},
        headers=ctx.parties.customer.bearer,
    )
    assert response.status_code == 201, response.text


async def evidence_by_customer(ctx: Ctx) -> None:
    await synthetic("dispute.evidence_added", added_by=ctx.parties.customer.id)(ctx)


async def subscribed(ctx: Ctx) -> None:
    return None  # make_parties subscribed the provider through the webhook


CASES: dict[str, tuple[Producer, set[str]]] = {
    "request_created": (to_state(RequestState.requested), {"provider"}),
    "request_accepted": (to_state(RequestState.accepted), {"customer"}),
    "request_declined": (to_state(RequestState.declined), {"customer"}),
    "request_cancelled_by_customer": (cancelled_by("customer"), {"provider"}),
    "request_cancelled_by_provider": (cancelled_by("provider"), {"customer"}),
    "request_expired": (expire(RequestState.requested), {"customer", "provider"}),
    "request_response_reminder": (
        reminder(RequestState.requested, "respond_by", timedelta(hours=24)),
        {"provider"},
    ),
    "job_completed": (to_state(RequestState.completed), {"customer"}),
    "confirmation_reminder": (
        reminder(RequestState.completed, "confirm_by", timedelta(days=2)),
        {"customer"},
    ),
    "job_confirmed": (to_state(RequestState.confirmed), {"provider"}),
    "job_auto_confirmed": (to_state(RequestState.auto_confirmed), {"customer", "provider"}),
    "new_message": (synthetic("message.created", preview="hello"), {"provider"}),
    "conversation_started": (start_conversation, {"provider"}),
    "dispute_opened": (to_state(RequestState.disputed), {"provider"}),
    "dispute_evidence_added": (evidence_by_customer, {"provider"}),  # not back to the one who added it
    "dispute_response_due": (synthetic("dispute.response_due"), {"provider"}),
    "dispute_info_requested": (synthetic("dispute.info_requested", question="Photos?"), {"provider"}),
    "dispute_resolved": (synthetic("dispute.resolved", outcome="split"), {"customer", "provider"}),
    "subscription_activated": (subscribed, {"provider"}),
    "subscription_tier_changed": (subscription("update", price="price_premium_monthly"), {"provider"}),
    "subscription_payment_failed": (subscription("payment_failed"), {"provider"}),
    "subscription_cancelled": (subscription("cancel"), {"provider"}),
    "review_received": (synthetic("review.published", review_id="r" * 24, rating=5), {"provider"}),
    "account_suspended": (synthetic("account.suspended", reason="fraud"), {"provider"}),
}


def test_every_type_of_the_catalogue_has_a_case() -> None:
    assert set(CASES) == set(CATALOGUE) and len(CATALOGUE) == 24


@pytest.mark.parametrize("kind", sorted(CASES))
async def test_the_type_reaches_exactly_its_audience(
    kind: str,
    api: httpx.AsyncClient,
    clock: ManualClock,
    settings: Settings,
    chat_app: ChatApp,
    stripe_api: str,
) -> None:
    ctx = Ctx(api, await make_parties(api), clock, stripe_api)
    produce, audience = CASES[kind]
    if kind == "dispute_evidence_added":  # the customer added evidence: only the provider hears of it
        produce, audience = (
            synthetic("dispute.evidence_added", added_by=ctx.parties.customer.id),
            {"provider"},
        )
    await produce(ctx)
    assert await relay_for(settings, chat_app, clock).drain() > 0
    for role, user_id in ctx.ids.items():
        got = await types_of(user_id)
        assert (kind in got) == (role in audience), (kind, role, got)
    ours = {ctx.parties.customer.id, ctx.parties.provider.id, ctx.parties.provider_id}
    for outsider in (ctx.parties.other_customer.id, ctx.parties.other_provider.id):
        for n in await received(outsider):  # (the other provider's own activation is theirs)
            assert not ours & {str(v) for v in n.data.values()}, (kind, n.type, n.data)


def test_an_event_no_type_listens_to_produces_nothing() -> None:
    assert for_event("request.unknown", {}) == []
