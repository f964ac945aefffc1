"""Booking request routes: create, list mine, read one (with history), and act on it."""

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from platform_api.billing.errors import StripeUnavailable
from platform_api.billing.router import WebhookDep
from platform_api.bookings.errors import (
    PERFORM_FAILURES,
    CategoryNotOffered,
    ProviderUnavailable,
    RequestNotFound,
)
from platform_api.bookings.schemas import CreateRequest, EventBody, RequestDetailOut, RequestOut, RequestPage
from platform_api.bookings.service import Actor, booking_service
from platform_api.deps import (
    READ_SESSION,
    WRITE_SESSION,
    ClockDep,
    CustomerSession,
    LimitsDep,
    PartySession,
    StripeDep,
)
from platform_api.errors import (
    RateLimited,
    RoleForbidden,
    ValidationFailed,
    errors,
)
from platform_api.idempotency import IDEMPOTENT, IdempotentRoute
from platform_api.payments import service as payments
from platform_api.payments.errors import (
    AmountTooLarge,
    AmountTooSmall,
    ChargesNotEnabled,
    CurrencyNotSupported,
    NotCardPaid,
    PaymentClosed,
    PaymentNotFound,
    PaymentRejected,
    QuoteRequired,
)
from platform_api.payments.schemas import PaymentOut, PaymentStartedOut
from platform_api.providers.errors import UnknownProvider
from shared_models.documents import ServiceRequest
from shared_models.enums import RequestEvent, RequestState
from shared_models.ids import SORTABLE_KEY_PATTERN

router = APIRouter(prefix="/requests", tags=["bookings"], route_class=IdempotentRoute)


class PartyEvent(StrEnum):
    """Events a party triggers over HTTP (expiry and auto-confirm are the scheduler's; disputes have their own API)."""

    accept = "accept"
    decline = "decline"
    cancel = "cancel"
    complete = "complete"
    confirm = "confirm"


def _detail(request: ServiceRequest, actor: Actor) -> RequestDetailOut:
    out = RequestOut.of(request, booking_service.allowed_for(request, actor))
    return RequestDetailOut(**out.model_dump(), history=request.history)


@router.post(
    "",
    dependencies=[IDEMPOTENT],
    summary="Book a provider: create a service request (customers)",
    status_code=status.HTTP_201_CREATED,
    response_model=RequestDetailOut,
    responses=errors(
        *WRITE_SESSION,
        RoleForbidden,
        UnknownProvider,
        CategoryNotOffered,
        ProviderUnavailable,
        QuoteRequired,
        AmountTooSmall,
        AmountTooLarge,
        CurrencyNotSupported,
        ValidationFailed,
        RateLimited,
    ),
)
async def create_request(
    body: CreateRequest, session: CustomerSession, clock: ClockDep, limits: LimitsDep
) -> RequestDetailOut:
    await limits.check("request_create_user", session.user_id)
    request = await booking_service.create(session.user, body, clock.now())
    return _detail(request, Actor.of(session.user))


@router.get(
    "",
    summary="My requests (as customer or provider), newest first",
    response_model=RequestPage,
    responses=errors(*READ_SESSION, RoleForbidden),
)
async def list_requests(
    session: PartySession,
    state: RequestState | None = None,
    cursor: Annotated[str | None, Query(pattern=SORTABLE_KEY_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    items, next_cursor = await booking_service.list_for_party(session.user, state, cursor, limit)
    actor = Actor.of(session.user)
    page = RequestPage.model_construct(
        items=[RequestOut.checked(r, booking_service.allowed_for(r, actor)) for r in items],
        next_cursor=next_cursor,
    )
    # Serialized once, here: the items were validated as they were read, and FastAPI would validate the
    # whole page again before serializing it (a list's largest cost after the query; bench/README.md).
    return Response(page.model_dump_json(), media_type="application/json")


@router.get(
    "/{request_id}",
    summary="One of my requests, with its full history",
    response_model=RequestDetailOut,
    responses=errors(*READ_SESSION, RoleForbidden, RequestNotFound),
)
async def get_request(request_id: str, session: PartySession) -> RequestDetailOut:
    actor = Actor.of(session.user)
    request = await booking_service.get_for_party(request_id, actor)
    if request is None:
        raise RequestNotFound()
    return _detail(request, actor)


@router.post(
    "/{request_id}/payment",
    dependencies=[IDEMPOTENT],
    summary="Pay for a card-paid booking: its PaymentIntent and client secret (the booking's customer)",
    description="Creates the booking's PaymentIntent once (calling again returns it): the card is "
    "authorised when the app confirms it with `client_secret` (Stripe's Payment Element or Payment Sheet) "
    "and captured when the provider accepts. Only while the booking is requested and before its response "
    "deadline (409 `payment_closed`) "
    "and the provider can take charges (409 `charges_not_enabled`).",
    response_model=PaymentStartedOut,
    responses=errors(
        *WRITE_SESSION,
        RoleForbidden,
        RequestNotFound,
        NotCardPaid,
        PaymentClosed,
        ChargesNotEnabled,
        QuoteRequired,
        AmountTooSmall,
        AmountTooLarge,
        CurrencyNotSupported,
        PaymentRejected,
        StripeUnavailable,
    ),
)
async def start_payment(
    request_id: str, session: CustomerSession, client: StripeDep, webhook: WebhookDep, clock: ClockDep
) -> PaymentStartedOut:
    request = await booking_service.get_for_party(request_id, Actor.of(session.user))
    if request is None:
        raise RequestNotFound()
    if not request.payment_required:
        raise NotCardPaid()
    return PaymentStartedOut.started(await payments.start(request, client, webhook, clock.now()))


@router.get(
    "/{request_id}/payment",
    summary="A booking's payment: status, amounts, the platform fee, refunds (its customer and provider)",
    response_model=PaymentOut,
    responses=errors(*READ_SESSION, RoleForbidden, RequestNotFound, PaymentNotFound),
)
async def get_payment(request_id: str, session: PartySession) -> PaymentOut:
    request = await booking_service.get_for_party(request_id, Actor.of(session.user))
    if request is None:
        raise RequestNotFound()
    return PaymentOut.of(await payments.view_of(request))


@router.post(
    "/{request_id}/{event}",
    summary="Act on a request: accept, decline, cancel, complete or confirm",
    description="Illegal in the current state → 409 `invalid_transition` with `details.state` and "
    "`details.allowed_events`; too late → 409 `deadline_passed`; cancelling an accepted request needs a reason.",
    response_model=RequestDetailOut,
    responses=errors(
        *WRITE_SESSION,
        RoleForbidden,
        *PERFORM_FAILURES,
    ),
)
async def act_on_request(
    request_id: str,
    event: PartyEvent,
    session: PartySession,
    clock: ClockDep,
    client: StripeDep,
    body: EventBody | None = None,
) -> RequestDetailOut:
    actor = Actor.of(session.user)
    body = body or EventBody()
    request = await booking_service.perform(
        request_id,
        RequestEvent(event.value),
        actor,
        clock.now(),
        reason=body.reason,
        quote=body.quote,
        stripe_client=client,
    )
    return _detail(request, actor)
