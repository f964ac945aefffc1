"""What every event handler shares: the context, and the wrapper that validates, rate-limits and acks."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import socketio
import structlog
from limits import RateLimitItem
from pydantic import ValidationError

from chat_server.config import ChatSettings
from chat_server.metrics import CHAT_EVENTS
from chat_server.protocol import CLIENT_EVENTS, Payload, error
from chat_server.state import StateStore
from shared_models import conversations
from shared_models.clock import Clock
from shared_models.conversations import ChatError
from shared_models.documents import Conversation
from shared_models.ratelimit import RateLimiter

log = structlog.get_logger(__name__)
P = TypeVar("P", bound=Payload)
Ack = dict[str, Any]


@dataclass
class ChatContext:
    sio: socketio.AsyncServer
    settings: ChatSettings
    clock: Clock
    state: StateStore
    limiter: RateLimiter
    rates: dict[str, RateLimitItem]


def user_room(user_id: str) -> str:
    return f"user:{user_id}"


def conversation_room(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"


async def participant_conversation(session: dict[str, Any], conversation_id: str) -> Conversation:
    """The conversation if the socket's user takes part in it; otherwise the `not_found` ack."""
    conversation = await conversations.get_for_participant(conversation_id, session["user_id"])
    if conversation is None:
        raise ChatError("not_found", "No such conversation among yours.")
    return conversation


Handler = Callable[[ChatContext, str, dict[str, Any], Any], Awaitable[Ack]]


def on(ctx: ChatContext, event: str, rate: str | None = None) -> Callable[[Handler], Handler]:
    """Register a client->server event: a bad payload, a limit or any failure becomes an error ack."""
    model = CLIENT_EVENTS[event]

    def register(handler: Handler) -> Handler:
        async def entry(sid: str, data: Any = None) -> Ack:
            ack = await handle(sid, data)
            CHAT_EVENTS.labels(event, "ok" if ack.get("ok") else str(ack.get("error", {}).get("code"))).inc()
            return ack

        async def handle(sid: str, data: Any) -> Ack:
            session = await ctx.sio.get_session(sid)
            try:
                payload = model.model_validate(data)
            except ValidationError as exc:
                first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid"}
                where = ".".join(str(p) for p in first.get("loc", ())) or "payload"
                return error("invalid_payload", f"{where}: {first.get('msg')}")
            if rate is not None and await ctx.limiter.hit(ctx.rates[rate], rate, session["user_id"]):
                return error("rate_limited")
            try:
                return await handler(ctx, sid, session, payload)
            except ChatError as exc:
                return error(exc.code, exc.message)
            except Exception:
                log.exception("socket.event_failed", socket_event=event, sid=sid)
                return error("internal_error")

        ctx.sio.on(event, entry)
        return handler

    return register
