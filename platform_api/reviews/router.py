"""Review routes: write one after a confirmed job, read a booking's reviews, a provider's public reviews,
and the provider's reply."""

from typing import Annotated

from fastapi import APIRouter, Query, status

from platform_api.bookings.errors import RequestNotFound
from platform_api.deps import READ_SESSION, WRITE_SESSION, ClockDep, PartySession, ProviderSession
from platform_api.errors import (
    ConcurrentUpdate,
    RoleForbidden,
    errors,
)
from platform_api.idempotency import IDEMPOTENT, IdempotentRoute
from platform_api.providers.errors import ProviderNotFound
from platform_api.providers.service import provider_service
from platform_api.reviews.errors import (
    AlreadyReplied,
    AlreadyReviewed,
    NotReviewable,
    ReviewNotFound,
    ReviewWindowClosed,
)
from platform_api.reviews.schemas import ReplyIn, ReviewIn, ReviewOut, ReviewPage
from platform_api.reviews.service import review_service
from shared_models.ids import SORTABLE_KEY

router = APIRouter(tags=["reviews"], route_class=IdempotentRoute)
PUBLIC_CURSOR = rf"^[0-9a-f]{{24}}:{SORTABLE_KEY}$"  # the provider id, then the review's sortable key


@router.post(
    "/requests/{request_id}/review",
    dependencies=[IDEMPOTENT],
    summary="Review the other party of a confirmed job (once; hidden until both reviewed or 7 days pass)",
    status_code=status.HTTP_201_CREATED,
    response_model=ReviewOut,
    responses=errors(
        *WRITE_SESSION,
        RoleForbidden,
        RequestNotFound,
        NotReviewable,
        ReviewWindowClosed,
        AlreadyReviewed,
        ProviderNotFound,
        ConcurrentUpdate,
    ),
)
async def write_review(request_id: str, body: ReviewIn, session: PartySession, clock: ClockDep) -> ReviewOut:
    review = await review_service.write(session.user, request_id, body.rating, body.text, clock.now())
    return ReviewOut.of(review)


@router.get(
    "/requests/{request_id}/reviews",
    summary="A job's reviews as you may see them: yours, and the other party's once published",
    response_model=list[ReviewOut],
    responses=errors(*READ_SESSION, RoleForbidden, RequestNotFound),
)
async def request_reviews(request_id: str, session: PartySession) -> list[ReviewOut]:
    return [ReviewOut.of(r) for r in await review_service.for_request(request_id, session.user)]


@router.get(
    "/providers/{provider_id}/reviews",
    summary="A provider's published reviews, newest first (public)",
    response_model=ReviewPage,
    responses=errors(ProviderNotFound),
)
async def provider_reviews(
    provider_id: str,
    cursor: Annotated[str | None, Query(pattern=PUBLIC_CURSOR)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ReviewPage:
    if await provider_service.get(provider_id) is None:
        raise ProviderNotFound()
    items, next_cursor = await review_service.for_provider(provider_id, cursor, limit)
    return ReviewPage(items=[ReviewOut.of(r) for r in items], next_cursor=next_cursor)


@router.post(
    "/reviews/{review_id}/reply",
    dependencies=[IDEMPOTENT],
    summary="Reply once to a published review of you (providers)",
    response_model=ReviewOut,
    responses=errors(*WRITE_SESSION, RoleForbidden, ReviewNotFound, AlreadyReplied),
)
async def reply_to_review(
    review_id: str, body: ReplyIn, session: ProviderSession, clock: ClockDep
) -> ReviewOut:
    return ReviewOut.of(await review_service.reply(review_id, session.user, body.text, clock.now()))
