"""The chat server's internal HTTP API, called by the platform only (shared-token auth, never public).

It lets the platform act on live sockets: end a logged-out session's sockets, or all of a user's.
"""

import hmac
from collections.abc import Awaitable, Callable

import socketio
import structlog
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from chat_server.config import ChatSettings
from chat_server.events.base import user_room
from chat_server.protocol import SERVER_EVENTS
from chat_server.state import StateStore

log = structlog.get_logger(__name__)


async def disconnect_all(sio: socketio.AsyncServer, sids: list[str]) -> int:
    # The shared state knows sockets on every instance; with the Redis manager, a disconnect for a socket
    # held by another instance is published for that instance to carry out.
    for sid in sids:
        await sio.disconnect(sid)
    return len(sids)


def routes(sio: socketio.AsyncServer, settings: ChatSettings, state: StateStore) -> list[Route]:
    def authorized(request: Request) -> bool:
        sent = request.headers.get("x-internal-token", "")
        return hmac.compare_digest(sent, settings.internal_api_token.get_secret_value())

    def refuse() -> JSONResponse:
        return JSONResponse(
            {"error": {"code": "not_authenticated", "message": "Internal API token required."}},
            status_code=401,
        )

    def disconnect(
        param: str, sockets_of: Callable[[str], Awaitable[list[str]]]
    ) -> Callable[[Request], Awaitable[JSONResponse]]:
        async def handler(request: Request) -> JSONResponse:
            if not authorized(request):
                return refuse()
            count = await disconnect_all(sio, await sockets_of(request.path_params[param]))
            log.info("socket.disconnected_by_platform", target=param, sockets=count)
            return JSONResponse({"disconnected": count})

        return handler

    async def deliver(request: Request) -> JSONResponse:
        """POST {event, data}: emit a server->client event of the catalogue to every device of a user."""
        if not authorized(request):
            return refuse()
        try:
            body = await request.json()
            event = body["event"]
            model = SERVER_EVENTS[event]
            data = model.model_validate(body.get("data")).model_dump(mode="json")
        except (ValueError, KeyError, TypeError, ValidationError) as exc:
            return JSONResponse(
                {"error": {"code": "invalid_payload", "message": f"Unknown event or bad data: {exc}"[:300]}},
                status_code=422,
            )
        await sio.emit(event, data, to=user_room(request.path_params["user_id"]))
        return JSONResponse({"delivered": True})

    return [
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
