"""The chat server's internal HTTP API, called by the platform only (shared-token auth; on the public port,
so the proxy must keep `/internal/` to the private network: README, production checklist).

It lets the platform act on live sockets: end a logged-out session's sockets, or all of a user's; ask who
is online or looking at a conversation; push notifications, each delivery once; and say that a
conversation's block state changed, so no instance lets a message through on what it remembered.
"""

import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

import socketio
import structlog
from pydantic import BaseModel, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from chat_server.events.base import ChatContext, user_room
from chat_server.events.presence import block_changed
from chat_server.protocol import SERVER_EVENTS, NotificationNew
from shared_models.errors import AppError, BodyTooLarge
from shared_models.ids import parse_object_id
from shared_models.services.conversations import InvalidPayload
from shared_models.services.sessions import NotAuthenticated

log = structlog.get_logger(__name__)


class PresenceQuery(BaseModel):
    userId: str = Field(pattern=r"^[0-9a-f]{24}$")
    conversationId: str | None = None


class PresenceQueries(BaseModel):
    queries: list[PresenceQuery] = Field(max_length=500)


class NotificationDelivery(BaseModel):
    deliveryId: str = Field(min_length=1, max_length=100)
    userId: str = Field(pattern=r"^[0-9a-f]{24}$")
    notification: NotificationNew


class NotificationDeliveries(BaseModel):
    deliveries: list[NotificationDelivery] = Field(max_length=500)


async def disconnect_all(sio: socketio.AsyncServer, sids: list[str]) -> int:
    # The shared state knows sockets on every instance; with the Redis manager, a disconnect for a socket
    # held by another instance is published for that instance to carry out.
    for sid in sids:
        await sio.disconnect(sid)
    return len(sids)


MAX_BODY_BYTES = 1_000_000  # the largest internal call (500 deliveries) is well under this


class TooLarge(BodyTooLarge):
    message = f"At most {MAX_BODY_BYTES} bytes."


class TokenRequired(NotAuthenticated):
    message = "Internal API token required."


def refusal(failure: AppError | type[AppError]) -> JSONResponse:
    """A refusal of this API, in the platform's error shape: `{"error": {"code", "message"}}`."""
    return JSONResponse(
        {"error": {"code": failure.code, "message": failure.message}}, status_code=failure.status_code
    )


async def _json(request: Request) -> Any:
    """The request's JSON body, refused past MAX_BODY_BYTES before it is all read."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise TooLarge
    try:
        return json.loads(body)
    except RecursionError:  # absurdly deep nesting: bad input, not a failure of ours
        raise ValueError("the JSON body nests too deeply") from None


def too_large() -> JSONResponse:
    return refusal(TooLarge)


def routes(ctx: ChatContext) -> list[Route]:
    sio, settings, state, directory = ctx.sio, ctx.settings, ctx.state, ctx.directory

    def authorized(request: Request) -> bool:
        sent = request.headers.get("x-internal-token", "").encode("latin-1", "replace")
        return hmac.compare_digest(sent, settings.internal_api_token.get_secret_value().encode())

    def refuse() -> JSONResponse:
        return refusal(TokenRequired)

    def disconnect(
        param: str, sockets_of: Callable[[str], Awaitable[list[str]]]
    ) -> Callable[[Request], Awaitable[JSONResponse]]:
        async def handler(request: Request) -> JSONResponse:
            if not authorized(request):
                return refuse()
            # The user's sessions changed (a logout names its user): this instance's session cache forgets
            # the user before the platform's caller is answered, so a connect with that token is refused
            # here at once (other instances follow their change streams within a second).
            named = request.path_params.get("user_id") or request.query_params.get("user_id")
            user_id = parse_object_id(named) if named else None
            if user_id is not None:
                ctx.session_cache.changed(str(user_id))
            count = await disconnect_all(sio, await sockets_of(request.path_params[param]))
            log.info("socket.disconnected_by_platform", target=param, sockets=count)
            return JSONResponse({"disconnected": count})

        return handler

    async def deliver(request: Request) -> JSONResponse:
        """POST {event, data}: emit a server->client event of the catalogue to every device of a user."""
        if not authorized(request):
            return refuse()
        try:
            body = await _json(request)
            event = body["event"]
            model = SERVER_EVENTS[event]
            data = model.model_validate(body.get("data")).model_dump(mode="json")
        except TooLarge:
            return too_large()
        except (ValueError, KeyError, TypeError, ValidationError) as exc:
            return refusal(InvalidPayload(f"Unknown event or bad data: {exc}"[:300]))
        await sio.emit(event, data, to=user_room(request.path_params["user_id"]))
        return JSONResponse({"delivered": True})

    async def presence(request: Request) -> JSONResponse:
        """POST {queries: [{userId, conversationId?}]}: online (any socket) and engaged (in that conversation)."""
        if not authorized(request):
            return refuse()
        try:
            queries = PresenceQueries.model_validate(await _json(request)).queries
        except TooLarge:
            return too_large()
        except (ValueError, ValidationError) as exc:
            return refusal(InvalidPayload(str(exc)[:300]))
        # One round trip for them all; "" is no conversation (nobody is engaged in it).
        found = await state.presence_many([(q.userId, q.conversationId or "") for q in queries])
        results = [
            {"online": p.online, "engaged": bool(q.conversationId) and p.engaged}
            for q, p in zip(queries, found, strict=True)
        ]
        return JSONResponse({"results": results})

    async def notifications(request: Request) -> JSONResponse:
        """POST {deliveries: [{deliveryId, userId, notification}]}: push each `notification:new` once."""
        if not authorized(request):
            return refuse()
        try:
            deliveries = NotificationDeliveries.model_validate(await _json(request)).deliveries
        except TooLarge:
            return too_large()
        except (ValueError, ValidationError) as exc:
            return refusal(InvalidPayload(str(exc)[:300]))
        sent = 0
        for d in deliveries:
            if await state.first_delivery(d.deliveryId):  # a retried post pushes nothing twice
                await sio.emit(
                    "notification:new", d.notification.model_dump(mode="json"), to=user_room(d.userId)
                )
                sent += 1
        return JSONResponse({"delivered": sent, "duplicates": len(deliveries) - sent})

    async def conversation_changed(request: Request) -> JSONResponse:
        """POST: the platform changed the conversation (blocked or unblocked): every instance re-reads its
        block state before writing another message to it. Answers once that holds."""
        if not authorized(request):
            return refuse()
        conversation_id = request.path_params["conversation_id"]
        if parse_object_id(conversation_id) is None:
            return refusal(InvalidPayload("Not a conversation id."))
        conversation_id = str(parse_object_id(conversation_id))  # one spelling: lower-case hex
        await directory.invalidate(conversation_id)
        await block_changed(ctx, conversation_id)
        log.info("chat.conversation_changed", conversation_id=conversation_id)
        return JSONResponse({"invalidated": True})

    return [
        Route("/internal/presence", presence, methods=["POST"]),
        Route("/internal/conversations/{conversation_id}/changed", conversation_changed, methods=["POST"]),
        Route("/internal/notifications", notifications, methods=["POST"]),
        Route("/internal/users/{user_id}/events", deliver, methods=["POST"]),
        Route(
            "/internal/sessions/{jti}/disconnect",
            disconnect("jti", state.sockets_of_session),
            methods=["POST"],
        ),
        Route(
            "/internal/users/{user_id}/disconnect",
            disconnect("user_id", state.sockets_of_user),
            methods=["POST"],
        ),
    ]
