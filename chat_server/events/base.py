"""What every event handler shares: the context, and the wrapper that orders, validates, rate-limits and acks.

Every client event is answered by exactly one ack, whatever it carries: one payload argument is expected;
none, several, or one that does not match the event's schema is `invalid_payload`; an event the protocol
does not define is `unknown_event`; a failure of ours is `internal_error`. Events of one socket are handled
in the order it emitted them (`chat_server.lanes`).
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from limits import RateLimitItem
from pydantic import ValidationError
from pymongo.errors import ConnectionFailure
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from chat_server.committer import MessageCommitter
from chat_server.config import ChatSettings
from chat_server.directory import ConversationDirectory
from chat_server.keyed_locks import KeyedLocks
from chat_server.lanes import SocketLanes
from chat_server.metrics import CHAT_EVENTS
from chat_server.ordered import OrderedDelivery
from chat_server.protocol import (
    ACK_ERRORS,
    CLIENT_EVENTS,
    EventFailed,
    Payload,
    TooManyEvents,
    Unavailable,
    UnknownEvent,
    error,
)
from chat_server.server import ChatSocketServer
from chat_server.state import StateStore
from shared_models.clock import Clock
from shared_models.errors import AppError
from shared_models.runtime.ratelimit import RateLimiter
from shared_models.services.conversations import InvalidPayload, Members, NotAmongYours
from shared_models.services.session_cache import SessionCache

log = structlog.get_logger(__name__)
# What "cannot reach the database or Redis" raises (pymongo: refused, timed out, no server selectable; redis-py:
# refused, dropped, timed out): answered `service_unavailable`, retryable, not `internal_error`.
UNREACHABLE = (ConnectionFailure, RedisConnectionError, RedisTimeoutError)
Ack = dict[str, Any]


@dataclass
class ChatContext:
    sio: ChatSocketServer
    settings: ChatSettings
    clock: Clock
    state: StateStore
    limiter: RateLimiter
    rates: dict[str, RateLimitItem]
    directory: ConversationDirectory
    session_cache: SessionCache = field(default_factory=SessionCache)  # who a connecting token belongs to
    committer: MessageCommitter | None = None  # set once the delivery functions exist (app factory)
    ordered: OrderedDelivery | None = None  # with Redis: message:new in seq order across instances
    lanes: SocketLanes = field(default_factory=SocketLanes)
    # Each connected socket's session (user, role, login session), as saved at connection: read on every
    # event without a round through python-socketio's session store.
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    presence_locks: KeyedLocks = field(default_factory=KeyedLocks)  # per user: announcements in order
    # Per socket, the last message it sent that is not delivered yet: what it emits next that reaches the
    # counterpart (typing) waits for it, so the counterpart sees the two in the order they were sent.
    in_flight: dict[str, "asyncio.Future[Any]"] = field(default_factory=dict)


@dataclass(frozen=True)
class Later:
    """A handler's answer that is ready only later (a message waiting for its batch): the socket's next event
    may proceed meanwhile; the ack is sent when `wait` completes."""

    wait: Awaitable[Ack]


def user_room(user_id: str) -> str:
    return f"user:{user_id}"


def conversation_room(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"


async def participant(ctx: ChatContext, session: dict[str, Any], conversation_id: str) -> Members:
    """The conversation's members if the socket's user is one of them; otherwise the `not_found` ack."""
    members = await ctx.directory.members(conversation_id, session["user_id"])
    if members is None:
        raise NotAmongYours()
    return members


Handler = Callable[[ChatContext, str, dict[str, Any], Any], Awaitable[Ack | Later]]


def _arity_error(event: str, count: int) -> Ack:
    return error(InvalidPayload, f"{event} takes exactly one payload object; {count} arguments were sent.")


def _validation_error(exc: ValidationError) -> Ack:
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid"}
    where = ".".join(str(p) for p in first.get("loc", ())) or "payload"
    return error(InvalidPayload, f"{where}: {first.get('msg')}")


def _always(payload: Any) -> bool:
    return True


@dataclass(frozen=True)
class Declared:
    """How a module-level handler answers its client event: the event's name (`protocol.CLIENT_EVENTS`),
    the rate limit it counts against (None: none), and which payloads count (a withdrawal never should)."""

    event: str
    rate: str | None
    limited: Callable[[Any], bool]


_DECLARED: dict[Handler, Declared] = {}


def handles(
    event: str, rate: str | None = None, limited: Callable[[Any], bool] = _always
) -> Callable[[Handler], Handler]:
    """Declare a module-level handler of a client event (named and importable, e.g. for a test); `bind`
    registers it on a server behind the validation / rate-limit / ack wrapper (`on`)."""
    if event not in CLIENT_EVENTS:
        raise ValueError(f"{event!r} is not a client event of the protocol")

    def declare(handler: Handler) -> Handler:
        _DECLARED[handler] = Declared(event, rate, limited)
        return handler

    return declare


def declared(handler: Handler) -> Declared:
    """What `handles` declared of a handler (KeyError for one it never saw)."""
    return _DECLARED[handler]


def bind(ctx: ChatContext, *handlers: Handler) -> None:
    """Register declared handlers on this server."""
    for handler in handlers:
        how = declared(handler)
        on(ctx, how.event, how.rate, how.limited)(handler)


def on(
    ctx: ChatContext,
    event: str,
    rate: str | None = None,
    limited: Callable[[Any], bool] = _always,
) -> Callable[[Handler], Handler]:
    """Register a client->server event: a bad payload, a limit or any failure becomes an error ack. With
    `rate`, the payloads `limited` says count against the user's limit (a withdrawal never should)."""
    model: type[Payload] = CLIENT_EVENTS[event]
    counters: dict[str, Any] = {}  # outcome -> this event's metric child

    def register(handler: Handler) -> Handler:
        async def entry(sid: str, *args: Any) -> Ack:
            previous, mine = ctx.lanes.enter(sid)  # before any await: the socket's emit order
            try:
                if previous is not None:
                    await previous
                answer = await admit(sid, args)
            finally:
                ctx.lanes.leave(sid, mine)
            if isinstance(answer, Later):
                answer = await finish(sid, answer)
            outcome = "ok" if answer.get("ok") else str(answer["error"]["code"])
            counter = counters.get(outcome)
            if counter is None:
                counter = counters[outcome] = CHAT_EVENTS.labels(event, outcome)
            counter.inc()
            return answer

        async def admit(sid: str, args: tuple[Any, ...]) -> Ack | Later:
            if len(args) != 1:
                return _arity_error(event, len(args))
            try:
                payload = model.model_validate(args[0])
            except ValidationError as exc:
                return _validation_error(exc)
            try:
                session = ctx.sessions.get(sid) or await ctx.sio.get_session(sid)
                if (
                    rate is not None
                    and limited(payload)
                    and await ctx.limiter.hit(ctx.rates[rate], rate, session["user_id"])
                ):
                    return error(TooManyEvents)
                return await handler(ctx, sid, session, payload)
            except Exception as exc:
                return _failure(event, sid, exc)

        async def finish(sid: str, later: Later) -> Ack:
            try:
                return await later.wait
            except Exception as exc:
                return _failure(event, sid, exc)

        ctx.sio.on(event, entry)
        return handler

    return register


def _failure(event: str, sid: str, exc: Exception) -> Ack:
    """The ack for an event whose handling raised: the refusal it carries (one the protocol defines),
    `service_unavailable` when the database or Redis could not be reached, else `internal_error` (logged with
    its traceback)."""
    if isinstance(exc, AppError) and exc.code in ACK_ERRORS:
        return error(exc)
    if isinstance(exc, UNREACHABLE):
        log.warning("socket.event_unavailable", socket_event=event, error=type(exc).__name__)
        return error(Unavailable)
    log.error("socket.event_failed", socket_event=event, sid=sid, exc_info=exc)
    return error(EventFailed)


def register_unknown(ctx: ChatContext) -> None:
    """Any event the protocol does not define is answered too (when the client asked for an ack)."""

    async def unknown(event: str, sid: str, *args: Any) -> Ack:
        CHAT_EVENTS.labels("unknown", UnknownEvent.code).inc()
        return error(UnknownEvent, f"{str(event)[:64]!r} is not an event of this protocol.")

    ctx.sio.on("*", unknown)
