"""ASGI app factory: the Socket.IO server plus a small HTTP app (health, readiness)."""

import asyncio
import gc
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import socketio
import structlog
from limits import parse
from redis.exceptions import RedisError
from socketio import packet
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chat_server import internal
from chat_server.background import forever
from chat_server.committer import Committed, MessageCommitter
from chat_server.config import ChatSettings
from chat_server.directory import ConversationDirectory, Generations
from chat_server.events import connection, conversations, messages, presence, typing
from chat_server.events.base import ChatContext, register_unknown
from chat_server.ordered import OrderedDelivery
from chat_server.pubsub import ChatRedisManager
from chat_server.sequencer import MemorySequencer, RedisSequencer, Sequencer
from chat_server.server import ChatSocketServer
from chat_server.state import MemoryState, RedisState, StateStore
from shared_models.clock import Clock, SystemClock
from shared_models.runtime.background import stop
from shared_models.runtime.block_generations import chat_prefix
from shared_models.runtime.logs import configure_logging
from shared_models.runtime.ratelimit import build_limiter
from shared_models.runtime.registry import connect, init_models, readiness
from shared_models.runtime.telemetry import RequestTelemetry, metrics_body

log = structlog.get_logger(__name__)
UNSTALL_SECONDS = 0.5  # how often a conversation waiting for a seq that never came is looked at
LISTENING_SECONDS = 0.5  # how long a probe through Redis may take to reach this instance's own listener


class ChatApp(socketio.ASGIApp):  # type: ignore[misc]
    """The ASGI callable, with handles on its two halves for tests and the internal API."""

    sio: ChatSocketServer
    http: Starlette
    ctx: ChatContext


def create_app(settings: ChatSettings | None = None, clock: Clock | None = None) -> ChatApp:
    settings = settings or ChatSettings()
    settings.check_secrets()
    clock = clock or SystemClock()
    # With Redis, rooms, presence, engagement and rate limits are shared by every instance.
    manager = (
        ChatRedisManager(settings.redis_url, channel=settings.redis_channel) if settings.redis_url else None
    )
    prefix = chat_prefix(settings.redis_channel)
    state: StateStore
    sequencer: Sequencer
    generations: Generations | None = None
    if settings.redis_url:
        redis_state = RedisState(settings.redis_url, prefix=prefix, ttl=settings.presence_ttl_seconds)
        state, sequencer = redis_state, RedisSequencer(redis_state.redis, prefix)
        generations = Generations(redis_state.redis, prefix)
    else:
        state, sequencer = MemoryState(), MemorySequencer()
    sio = ChatSocketServer(
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
        rates={
            "message:send": parse(settings.chat_message_rate),
            "typing": parse(settings.chat_typing_rate),
            "events": parse(settings.chat_event_rate),
        },
        directory=ConversationDirectory(generations),
    )

    if settings.redis_url:
        ctx.ordered = OrderedDelivery(redis_state.redis, prefix, settings.redis_channel, packet.Packet.json)

    async def deliver(drawn: Sequence[Committed]) -> None:
        await messages.deliver(ctx, drawn)

    async def after(fresh: Sequence[Committed]) -> None:
        await messages.notify_recipients(ctx, fresh)

    ctx.committer = MessageCommitter(sequencer, ctx.directory.blocked_now, deliver, after)
    for family in (connection, conversations, messages, typing):
        family.register(ctx)
    register_unknown(ctx)

    redis_seen: dict[str, object] = {"run_id": None, "lost": False}

    async def shared_state_round() -> None:
        # With Redis: free conversations waiting for a seq that never came, and notice when Redis went
        # away (a failed round) or restarted (a new run id), however briefly. A restarted Redis has lost
        # the block generations (cached block states are forgotten) and pub/sub keeps nothing, so live
        # events published meanwhile are lost: once this instance's listener receives again (restarted if
        # it does not), every socket here is closed at the transport (the client reconnects by itself) to
        # reload what it missed over REST, as after any reconnection.
        assert ctx.ordered is not None
        assert isinstance(manager, ChatRedisManager)
        try:
            await ctx.ordered.unstall()
            run_id = (await ctx.ordered.redis.info("server"))["run_id"]
        except (RedisError, OSError) as exc:
            if not redis_seen["lost"]:  # once per outage, not every round
                log.warning("chat.shared_state_unreachable", error=type(exc).__name__)
            redis_seen["lost"] = True
            return
        if redis_seen["run_id"] is not None and run_id != redis_seen["run_id"]:
            ctx.directory.forget_all_block_state()
            redis_seen["lost"] = True
        redis_seen["run_id"] = run_id
        if not redis_seen["lost"]:
            return
        # Pooled connections Redis closed would each fail their next command: drop them all first, so the
        # reconnecting clients and what they send meet fresh ones.
        await ctx.ordered.redis.connection_pool.disconnect()
        if not await manager.listening(ctx.ordered.redis, within=LISTENING_SECONDS):
            log.warning("chat.pubsub_listener_restarted")
            manager.restart_listener()
            return  # checked again next round
        await presence.resync(ctx)
        redis_seen["lost"] = False

    async def heartbeat() -> None:
        # Keeps this instance's sockets counted in the shared state, and withdraws those of dead instances.
        await state.heartbeat()
        await presence.reap(ctx)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        client = connect(settings.mongodb_uri, settings.mongodb_timeout_ms)
        app.state.mongo = client
        app.state.document_models = await init_models(client, settings.mongodb_db)
        assert ctx.committer is not None
        tasks = [
            asyncio.create_task(forever("heartbeat", heartbeat, settings.presence_ttl_seconds / 3)),
            asyncio.create_task(ctx.committer.run(), name="commit"),
            asyncio.create_task(ctx.directory.watch(), name="conversation-changes"),
            asyncio.create_task(ctx.session_cache.watch(), name="session-changes"),
        ]
        if ctx.ordered is not None:
            tasks.append(asyncio.create_task(forever("shared-state", shared_state_round, UNSTALL_SECONDS)))
        try:
            yield
        finally:
            await stop(tasks)
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
            *internal.routes(ctx),
        ],
        middleware=[Middleware(RequestTelemetry, service="chat")],
        exception_handlers={HTTPException: http_error},
        lifespan=lifespan,
    )
    http.state.settings = settings
    http.state.clock = clock
    app = ChatApp(sio, other_asgi_app=http)
    app.sio = sio
    app.http = http
    app.ctx = ctx
    return app


async def http_error(_: Request, exc: Exception) -> Response:
    """An unknown path or a wrong method, in the documented error shape (Starlette answers plain text)."""
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    body = {"error": {"code": code, "message": exc.detail}}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


def app_from_env() -> ChatApp:
    """Entry point for `uvicorn --factory chat_server.app:app_from_env`."""
    settings = ChatSettings()
    configure_logging(settings.log_level, settings.log_json)
    app = create_app(settings)
    tune_collector(settings.chat_gc_gen0_threshold)
    return app


def tune_collector(gen0_threshold: int) -> None:
    """Fewer, cheaper garbage collections for this process (its entry point only, never a test's).

    With the default thresholds (700, 10, 10) a busy chat server collects generation 0 hundreds of times a
    second and, every so often, all of its long-lived objects (sockets, rooms, the database client): pauses
    that every message in flight waits out. Measured with bench/chat_fanout.py: p99 send→delivery 257-433 ms
    with the defaults, 45-91 ms with generation 0 at 50,000 and what start-up made frozen out of the
    collector's view (`gc.freeze`, as large Python services do)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(gen0_threshold, 20, 100)
