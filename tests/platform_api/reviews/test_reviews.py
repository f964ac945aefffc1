"""Double-blind reviews: who may review and when, hidden until both reviewed or the window closed,
publication exactly once, the provider's one reply, and the rating aggregate under concurrency."""

import asyncio
from datetime import timedelta

import httpx

from chat_server.app import ChatApp
from platform_api.config import Settings
from platform_api.reviews.service import REVIEW_WINDOW, review_service
from shared_models.clock import ManualClock
from shared_models.documents import OutboxEvent, ProviderCoverage, ProviderProfile, Review, User
from shared_models.enums import RequestState
from tests.factories import API, Account, login
from tests.platform_api.bookings.helpers import Parties, drive_to
from tests.platform_api.notifications.helpers import relay_for, types_of


async def review(api: httpx.AsyncClient, who: Account, request_id: str, rating: int = 4) -> httpx.Response:
    return await api.post(
        f"{API}/requests/{request_id}/review",
        json={"rating": rating, "text": f"{rating} stars."},
        headers=who.bearer,
    )


async def visible(api: httpx.AsyncClient, who: Account, request_id: str) -> set[str]:
    response = await api.get(f"{API}/requests/{request_id}/reviews", headers=who.bearer)
    assert response.status_code == 200, response.text
    return {r["author_role"] for r in response.json()}


async def test_only_participants_of_a_confirmed_job_review_once_each(
    api: httpx.AsyncClient, parties: Parties, clock: ManualClock
) -> None:
    completed, _ = await drive_to(parties, RequestState.completed, clock.now())
    early = await review(api, parties.customer, str(completed.id))
    assert early.status_code == 409 and early.json()["error"]["code"] == "not_reviewable"
    for state in (RequestState.confirmed, RequestState.auto_confirmed):
        done, now = await drive_to(parties, state, clock.now())
        clock.set(now)
        rid = str(done.id)
        customer, provider = await login(api, parties.customer), await login(api, parties.provider)
        for outsider in (parties.other_customer, parties.other_provider):
            assert (await review(api, await login(api, outsider), rid)).status_code == 404
        assert (await review(api, customer, rid, 5)).status_code == 201
        twice = await review(api, customer, rid, 1)
        assert twice.status_code == 409 and twice.json()["error"]["code"] == "already_reviewed"
        assert (await review(api, provider, rid, 3)).status_code == 201
    bad = await api.post(
        f"{API}/requests/{completed.id}/review",
        json={"rating": 6, "text": "x"},
        headers=customer.bearer,
    )
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "rating"
    assert await Review.find({"request_id": str(completed.id)}).count() == 0


async def test_reviews_are_hidden_until_both_have_reviewed(
    api: httpx.AsyncClient, parties: Parties, clock: ManualClock, settings: Settings, chat_app: ChatApp
) -> None:
    done, _ = await drive_to(parties, RequestState.confirmed, clock.now())
    rid = str(done.id)
    assert (await review(api, parties.customer, rid, 2)).status_code == 201
    assert await visible(api, parties.customer, rid) == {"customer"}
    assert await visible(api, parties.provider, rid) == set()  # cannot read it before writing theirs
    public = await api.get(f"{API}/providers/{parties.provider_id}/reviews")
    assert public.json()["items"] == []
    profile = await ProviderProfile.get(parties.provider_id)
    assert profile is not None and profile.rating_count == 0

    second = await review(api, parties.provider, rid, 5)
    assert second.status_code == 201 and second.json()["published"] is True
    assert await visible(api, parties.provider, rid) == {"customer", "provider"}
    assert await visible(api, parties.customer, rid) == {"customer", "provider"}
    public = await api.get(f"{API}/providers/{parties.provider_id}/reviews")
    assert [(r["rating"], r["author_role"]) for r in public.json()["items"]] == [(2, "customer")]
    profile = await ProviderProfile.get(parties.provider_id)
    assert profile is not None and (profile.rating_count, profile.rating_sum) == (1, 2)
    rows = await ProviderCoverage.find({"provider_id": parties.provider_id}).to_list()
    assert rows and all((r.rating_count, r.rating_sum) == (1, 2) for r in rows)  # what search reads

    await relay_for(settings, chat_app, clock).drain()
    assert "review_received" in await types_of(parties.provider.id)
    assert "review_received" in await types_of(parties.customer.id)


async def test_the_window_closing_publishes_a_lone_review_exactly_once(
    api: httpx.AsyncClient, parties: Parties, clock: ManualClock
) -> None:
    done, now = await drive_to(parties, RequestState.confirmed, clock.now())
    rid = str(done.id)
    assert (await review(api, parties.customer, rid, 4)).status_code == 201
    clock.set(now + REVIEW_WINDOW - timedelta(seconds=1))
    assert await review_service.publish_due(clock.now()) == 0
    clock.set(now + REVIEW_WINDOW)
    published = await asyncio.gather(*(review_service.publish_due(clock.now()) for _ in range(4)))
    assert sum(published) == 1
    assert await OutboxEvent.find({"type": "review.published"}).count() == 1
    provider = await login(api, parties.provider)
    assert await visible(api, provider, rid) == {"customer"}
    late = await review(api, provider, rid, 1)
    assert late.status_code == 409 and late.json()["error"]["code"] == "review_window_closed"
    profile = await ProviderProfile.get(parties.provider_id)
    assert profile is not None and (profile.rating_count, profile.rating_sum) == (1, 4)


async def test_the_provider_replies_once_to_a_published_review_of_them(
    api: httpx.AsyncClient, parties: Parties, clock: ManualClock
) -> None:
    done, _ = await drive_to(parties, RequestState.confirmed, clock.now())
    rid = str(done.id)
    mine = (await review(api, parties.customer, rid, 3)).json()
    url = f"{API}/reviews/{mine['id']}/reply"
    hidden = await api.post(url, json={"text": "Thanks!"}, headers=parties.provider.bearer)
    assert hidden.status_code == 404  # not published yet: nothing to reply to
    theirs = (await review(api, parties.provider, rid, 5)).json()
    assert (
        await api.post(url, json={"text": "Sorry about the mess."}, headers=parties.other_provider.bearer)
    ).status_code == 404
    assert (await api.post(url, json={"text": "Me?"}, headers=parties.customer.bearer)).status_code == 403
    replied = await api.post(url, json={"text": "Sorry about the mess."}, headers=parties.provider.bearer)
    assert replied.status_code == 200 and replied.json()["reply"]["text"] == "Sorry about the mess."
    again = await api.post(url, json={"text": "Edited."}, headers=parties.provider.bearer)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_replied"
    about_customer = await api.post(
        f"{API}/reviews/{theirs['id']}/reply", json={"text": "?"}, headers=parties.provider.bearer
    )
    assert about_customer.status_code == 404  # their own review of the customer


async def test_the_aggregate_is_right_after_20_concurrent_publications(
    api: httpx.AsyncClient, parties: Parties, clock: ManualClock
) -> None:
    customer = await User.get(parties.customer.id)
    provider = await User.get(parties.provider.id)
    assert customer is not None and provider is not None
    ratings = [1 + i % 5 for i in range(20)]
    requests = [(await drive_to(parties, RequestState.confirmed, clock.now()))[0] for _ in ratings]
    now = clock.now()
    for request, rating in zip(requests, ratings, strict=True):
        await review_service.write(customer, str(request.id), rating, "ok", now)
    # Each provider review completes a pair, so each publishes one customer review: 20 at once.
    await asyncio.gather(*(review_service.write(provider, str(r.id), 5, "ok", now) for r in requests))
    profile = await ProviderProfile.get(parties.provider_id)
    assert profile is not None and (profile.rating_count, profile.rating_sum) == (20, sum(ratings))
    assert await Review.find({"published": True}).count() == 40
    rows = await ProviderCoverage.find({"provider_id": parties.provider_id}).to_list()
    assert rows and {(r.rating_count, r.rating_sum) for r in rows} == {(20, sum(ratings))}
