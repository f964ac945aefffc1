"""Double-blind reviews: the only writer of `Review`.

Each party may review the other once per confirmed booking, within 7 days of the confirmation. A review
stays hidden until both have written theirs or the window closes (then the scheduler publishes it), so
neither can answer the other's. Publication is a compare-and-set (exactly once) that records the
`review.published` event; the provider's rating is then recomputed from the published reviews and stored
only if it is newer than what the profile holds, so concurrent publications always end correct.
"""

import asyncio
import functools
from datetime import datetime, timedelta

import structlog
from pymongo.errors import DuplicateKeyError

from platform_api.bookings.errors import RequestNotFound
from platform_api.bookings.service import Actor, booking_service
from platform_api.outbox.service import outbox_service
from platform_api.providers.service import provider_service
from platform_api.reviews.errors import (
    AlreadyReplied,
    AlreadyReviewed,
    NotReviewable,
    ReviewNotFound,
    ReviewWindowClosed,
)
from shared_models import store
from shared_models.documents import DomainEvent, Review, ReviewReply, ServiceRequest, User
from shared_models.enums import ActorRole, RequestState
from shared_models.ids import parse_object_id, time_key

log = structlog.get_logger(__name__)
REVIEW_WINDOW = timedelta(days=7)
REVIEWABLE = frozenset({RequestState.confirmed, RequestState.auto_confirmed})


def confirmed_at(request: ServiceRequest) -> datetime | None:
    for step in reversed(request.history):
        if step.to_state in REVIEWABLE:
            return step.at
    return None


def _counterpart(role: ActorRole) -> ActorRole:
    return ActorRole.provider if role is ActorRole.customer else ActorRole.customer


# The owner clears its own document once its events are in the outbox.
outbox_service.register(Review, "review", functools.partial(store.clear_pending_events, Review))


class ReviewService:
    async def write(self, author: User, request_id: str, rating: int, text: str, now: datetime) -> Review:
        actor = Actor.of(author)
        request = await booking_service.get_for_party(request_id, actor)
        if request is None:
            raise RequestNotFound()
        done_at = confirmed_at(request)
        if request.state not in REVIEWABLE or done_at is None:
            raise NotReviewable(details={"state": request.state.value})
        window_end = done_at + REVIEW_WINDOW
        if now >= window_end:
            raise ReviewWindowClosed(f"The review window closed at {window_end.isoformat()}.")
        role = actor.role
        review = Review(
            review_key=f"{request.id}:{role.value}",
            request_id=str(request.id),
            author_id=str(author.id),
            author_role=role,
            subject_id=request.provider_user_id if role is ActorRole.customer else request.customer_id,
            provider_id=request.provider_id,
            rating=rating,
            text=text,
            created_at=now,
            publish_at=window_end,
        )
        try:
            await review.insert()
        except DuplicateKeyError:
            raise AlreadyReviewed() from None
        log.info("review.written", request_id=request_id, role=role.value)
        # Both sides in: publish both. Each side checks after its own insert, so of two concurrent
        # writers at least one sees the other; publishing twice is harmless (compare-and-set).
        other = await Review.find_one({"review_key": f"{request.id}:{_counterpart(role).value}"})
        if other is not None:
            published = await asyncio.gather(self.publish(review, now), self.publish(other, now))
            return published[0] or await self._reload(review)
        return review

    async def _reload(self, review: Review) -> Review:
        fresh = await Review.get(review.id)
        assert fresh is not None
        return fresh

    async def publish(self, review: Review, now: datetime) -> Review | None:
        """Make the review public, exactly once; returns it, or None if it already was."""
        if review.published:
            return None
        after = review.model_copy(deep=True)
        after.published, after.published_at = True, now
        after.version = review.version + 1
        if review.author_role is ActorRole.customer:
            after.public_key = f"{review.provider_id}:{time_key(now)}-{review.id}"
        event = DomainEvent(
            type="review.published",
            occurred_at=now,
            payload={
                "review_id": str(review.id),
                "request_id": review.request_id,
                "recipient_id": review.subject_id,
                "rating": review.rating,
                "author_role": review.author_role.value,
            },
        )
        after.pending_events.append(event)
        after.pending_since = review.pending_since or now
        raw = await store.replace_if({"_id": review.id, "version": review.version, "published": False}, after)
        if raw is None:
            return None
        published: Review = Review.model_validate(raw)
        await outbox_service.publish_or_defer([published], now)
        if review.author_role is ActorRole.customer:
            await self.refresh_rating(review.provider_id, now)
        log.info("review.published", review_id=str(review.id), request_id=review.request_id)
        return published

    async def refresh_rating(self, provider_id: str, now: datetime) -> None:
        """Recompute the provider's aggregate from its published reviews (one indexed range) and store it."""
        rows = await store.aggregate(
            Review,
            [
                {"$match": {"public_key": {"$gte": f"{provider_id}:", "$lt": f"{provider_id};"}}},
                {"$group": {"_id": None, "count": {"$sum": 1}, "total": {"$sum": "$rating"}}},
            ],
        )
        if rows:
            await provider_service.set_rating(provider_id, int(rows[0]["count"]), int(rows[0]["total"]), now)

    async def publish_due(self, now: datetime, batch_size: int = 200) -> int:
        """The scheduler: publish every review whose window has closed (each exactly once)."""
        published = 0
        while True:
            due = (
                await Review.find({"published": False, "publish_at": {"$lte": now}})
                .sort("publish_at")
                .limit(batch_size)
                .to_list()
            )
            done = [r for r in await asyncio.gather(*(self.publish(r, now) for r in due)) if r is not None]
            published += len(done)
            if len(due) < batch_size or not done:
                break
        return published

    async def for_request(self, request_id: str, user: User) -> list[Review]:
        """The reviews of a booking as a party sees them: their own always, the other's once published."""
        request = await booking_service.get_for_party(request_id, Actor.of(user))
        if request is None:
            raise RequestNotFound()
        found = await Review.find({"request_id": str(request.id)}).to_list()
        return [r for r in found if r.author_id == str(user.id) or r.published]

    async def for_provider(
        self, provider_id: str, cursor: str | None, limit: int
    ) -> tuple[list[Review], str | None]:
        """A provider's published reviews by customers, newest first (public)."""
        query: dict[str, object] = {
            "public_key": {"$gte": f"{provider_id}:", "$lt": cursor or f"{provider_id};"}
        }
        found = await Review.find(query).sort("-public_key").limit(limit + 1).to_list()
        next_cursor = found[limit - 1].public_key if len(found) > limit else None
        return found[:limit], next_cursor

    async def reply(self, review_id: str, provider: User, text: str, now: datetime) -> Review:
        """The reviewed provider answers a published review, once."""
        oid = parse_object_id(review_id)
        review = await Review.get(oid) if oid else None
        if (
            review is None
            or review.subject_id != str(provider.id)
            or review.author_role is not ActorRole.customer
            or not review.published
        ):
            raise ReviewNotFound()
        if review.reply is not None:
            raise AlreadyReplied()
        after = review.model_copy(deep=True)
        after.reply = ReviewReply(text=text, at=now)
        after.version = review.version + 1
        raw = await store.replace_if({"_id": review.id, "version": review.version}, after)
        if raw is None:  # replied (or published-events cleared) meanwhile: look again
            fresh = await Review.get(review.id)
            if fresh is not None and fresh.reply is None:
                return await self.reply(review_id, provider, text, now)
            raise AlreadyReplied()
        replied: Review = Review.model_validate(raw)
        return replied


review_service = ReviewService()
