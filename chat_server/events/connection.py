"""Connection lifecycle: a socket is accepted only with a valid, unrevoked session of an active user."""

from http.cookies import CookieError, SimpleCookie
from typing import Any

import socketio
import structlog

from chat_server.events import presence
from chat_server.events.base import ChatContext, user_room
from chat_server.metrics import SOCKET_CONNECTIONS
from chat_server.protocol import Degraded, TokenRequired
from shared_models.errors import AppError
from shared_models.services.sessions import SessionError, authenticate

log = structlog.get_logger(__name__)


def _token_from(environ: dict[str, Any], auth: Any, cookie_name: str) -> str | None:
    # The app passes `auth: {token}`; a browser on the same site sends the HttpOnly cookie instead.
    if isinstance(auth, dict) and isinstance(auth.get("token"), str) and auth["token"]:
        return str(auth["token"])
    raw = environ.get("HTTP_COOKIE", "")
    if not raw:
        return None
    try:
        morsel = SimpleCookie(raw).get(cookie_name)
    except CookieError:
        return None
    return morsel.value if morsel is not None and morsel.value else None


def refused(failure: AppError | type[AppError]) -> socketio.exceptions.ConnectionRefusedError:
    """A refused connection: the client's `connect_error` carries the code as its message, and the
    failure (`{code, message}`) as its data."""
    return socketio.exceptions.ConnectionRefusedError(
        failure.code, {"code": failure.code, "message": failure.message}
    )


def _unavailable(sid: str, exc: Exception) -> socketio.exceptions.ConnectionRefusedError:
    log.warning("socket.refused", sid=sid, code=Degraded.code, error=type(exc).__name__)
    return refused(Degraded)


async def connect(ctx: ChatContext, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
    """`connect`: authenticate the session token (cookie or `auth.token`), or refuse with its code."""
    token = _token_from(environ, auth, ctx.settings.session_cookie_name)
    if token is None:
        raise refused(TokenRequired)
    try:
        user, claims = await authenticate(
            token, ctx.settings.jwt_secret.get_secret_value(), ctx.clock, ctx.session_cache
        )
    except SessionError as exc:
        log.info("socket.refused", sid=sid, code=exc.code)
        raise refused(exc) from None
    except Exception as exc:  # the database is unreachable: the same clear refusal as below
        raise _unavailable(sid, exc) from None
    user_id = str(user.id)
    session = {
        "user_id": user_id,
        "role": user.role.value,
        "jti": claims.jti,
        "display_name": user.display_name,
    }
    await ctx.sio.save_session(sid, session)
    await ctx.sio.enter_room(sid, user_room(user_id))
    try:
        await presence.connected(ctx, sid, user_id, claims.jti)
    except Exception as exc:  # the shared state (Redis) is down: refuse clearly, the client retries
        await ctx.sio.save_session(sid, {})
        raise _unavailable(sid, exc) from None
    ctx.sessions[sid] = session
    SOCKET_CONNECTIONS.inc()
    log.info("socket.connected", sid=sid, user_id=user_id)


async def disconnect(ctx: ChatContext, sid: str, reason: Any = None) -> None:
    """`disconnect`: after the socket's earlier events, forget it and withdraw its presence."""
    # After the socket's earlier events (its lane): a `typing` it sent just before is withdrawn too.
    previous, mine = ctx.lanes.enter(sid)
    try:
        if previous is not None:
            await previous
        ctx.sessions.pop(sid, None)
        session = await ctx.sio.get_session(sid)
        if session and "user_id" in session:
            SOCKET_CONNECTIONS.dec()
            await presence.disconnected(ctx, sid, session["user_id"], session["jti"])
        ctx.in_flight.pop(sid, None)
    finally:
        ctx.lanes.leave(sid, mine)
    log.info("socket.disconnected", sid=sid, reason=str(reason))


def register(ctx: ChatContext) -> None:
    async def on_connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        await connect(ctx, sid, environ, auth)

    async def on_disconnect(sid: str, reason: Any = None) -> None:
        await disconnect(ctx, sid, reason)

    ctx.sio.on("connect", on_connect)
    ctx.sio.on("disconnect", on_disconnect)
