"""ASGI app factory: the Socket.IO server plus a small HTTP app (health, readiness)."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import socketio
import structlog
from limits import parse
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chat_server import internal
from chat_server.config import ChatSettings
from chat_server.events import connection, conversations, messages, typing
from chat_server.events.base import ChatContext
from chat_server.state import MemoryState, RedisState, StateStore
from shared_models import connect, init_models
from shared_models.clock import Clock, SystemClock
from shared_models.logs import configure_logging
from shared_models.ratelimit import build_limiter
from shared_models.registry import readiness
from shared_models.telemetry import RequestTelemetry, metrics_body

log = structlog.get_logger(__name__)


class ChatApp(socketio.ASGIApp):  # type: ignore[misc]
    """The ASGI callable, with handles on its two halves for tests and the internal API."""

    sio: socketio.AsyncServer
    http: Starlette
    ctx: ChatContext


def create_app(settings: ChatSettings | None = None, clock: Clock | None = None) -> ChatApp:
    settings = settings or ChatSettings()
    settings.check_secrets()
    clock = clock or SystemClock()
    # With Redis, rooms, presence, engagement and rate limits are shared by every instance.
    manager = (
        socketio.AsyncRedisManager(settings.redis_url, channel=settings.redis_channel)
        if settings.redis_url
        else None
    )
    state: StateStore = (
        RedisState(
            settings.redis_url, prefix=f"chat:{settings.redis_channel}", ttl=settings.presence_ttl_seconds
        )
        if settings.redis_url
        else MemoryState()
    )
    sio = socketio.AsyncServer(
        async_mode="asgi",
        cors_allowed_origins=settings.chat_cors_origins,
        client_manager=manager,
        logger=False,
        engineio_logger=False,
    )
    ctx = ChatContext(
        sio=sio,
        settings=settings,
        clock=clock,
        state=state,
        limiter=build_limiter(settings.redis_url, settings.rate_limit_prefix),
        rates={"message:send": parse(settings.chat_message_rate), "typing": parse(settings.chat_typing_rate)},
    )
    for family in (connection, conversations, messages, typing):
        family.register(ctx)

    async def heartbeat() -> None:
        # A periodic job, not synchronisation: keeps this instance's sockets counted in the shared state.
        while True:
            try:
                await state.heartbeat()
            except Exception:
                log.exception("chat.heartbeat_failed")
            await asyncio.sleep(settings.presence_ttl_seconds / 3)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        client = connect(settings.mongodb_uri, settings.mongodb_timeout_ms)
        app.state.mongo = client
        app.state.document_models = await init_models(client, settings.mongodb_db)
        beating = asyncio.create_task(heartbeat())
        try:
            yield
        finally:
            beating.cancel()
            await state.close()
            await client.close()

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        # With REDIS_URL, Redis carries rooms and presence across instances: needed, not optional.
        shared = {"redis": state.check} if settings.redis_url else {}
        ready, checks = await readiness(request.app.state.mongo, settings.readiness_timeout_seconds, shared)
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", "checks": checks},
            status_code=200 if ready else 503,
        )

    async def metrics(_: Request) -> Response:
        body, content_type = metrics_body()
        return Response(body, media_type=content_type)

    http = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
            *internal.routes(sio, settings, state),
        ],
        middleware=[Middleware(RequestTelemetry, service="chat")],
        lifespan=lifespan,
    )
    http.state.settings = settings
    http.state.clock = clock
    app = ChatApp(sio, other_asgi_app=http)
    app.sio = sio
    app.http = http
    app.ctx = ctx
    return app


def app_from_env() -> ChatApp:
    """Entry point for `uvicorn --factory chat_server.app:app_from_env`."""
    settings = ChatSettings()
    configure_logging(settings.log_level, settings.log_json)
    return create_app(settings)
