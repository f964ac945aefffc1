"""The Socket.IO protocol as code: every event, its payload schema, the ack error codes, and the refusals of the
protocol itself (those of a domain are the domain's: `shared_models.services.conversations`).

PROTOCOL.md documents exactly this catalogue; a test fails when the two, or the registered handlers, disagree.
"""

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared_models.documents.chat import MAX_BODY
from shared_models.errors import AppError, BadRequest, InternalError, ServiceUnavailable
from shared_models.runtime.ratelimit import RateLimited
from shared_models.services.conversations import ChatError
from shared_models.services.sessions import NotAuthenticated
from shared_models.text import is_blank

ObjectIdStr = Field(pattern=r"^[0-9a-f]{24}$")


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ClientPayload(Payload):
    # Strict: what a client sends is what the schema says, never coerced ("true" is not a boolean, 1 is not
    # a string, bytes are not text).
    model_config = ConfigDict(extra="forbid", populate_by_name=True, strict=True)


# ---- client -> server (each answered by an ack) ----
class JoinPayload(ClientPayload):
    conversationId: str = ObjectIdStr


class LeavePayload(ClientPayload):
    conversationId: str = ObjectIdStr


class SendPayload(ClientPayload):
    conversationId: str = ObjectIdStr
    clientId: str = Field(pattern=r"^[\x21-\x7e]{1,64}$")  # visible ASCII (a uuid, a counter...)
    body: str = Field(min_length=1, max_length=MAX_BODY)
    attachments: list[Annotated[str, ObjectIdStr]] = Field(default_factory=list, max_length=10)

    @field_validator("body")
    @classmethod
    def _readable(cls, body: str) -> str:
        if "\x00" in body:
            raise ValueError("a message cannot contain NUL characters")
        if is_blank(body):
            raise ValueError("a message needs some visible text")
        return body

    @field_validator("attachments")
    @classmethod
    def _distinct(cls, attachments: list[str]) -> list[str]:
        if len(set(attachments)) != len(attachments):
            raise ValueError("each attachment once")
        return attachments


class ReadPayload(ClientPayload):
    conversationId: str = ObjectIdStr
    messageId: str = ObjectIdStr


class TypingPayload(ClientPayload):
    conversationId: str = ObjectIdStr
    isTyping: bool


# ---- server -> client ----
class MessageNew(Payload):
    id: str
    conversationId: str
    senderId: str
    body: str
    attachments: list[str]
    clientId: str
    createdAt: datetime
    seq: int = Field(ge=1, description="The message's place in its conversation: strictly increasing.")
    cursor: str


class MessageReceipt(Payload):
    conversationId: str
    readerId: str
    upToMessageId: str
    upToSeq: int  # two devices reading at once may send receipts out of order: keep the highest
    readAt: datetime


class TypingUpdate(Payload):
    conversationId: str
    userId: str
    isTyping: bool


class PresenceUpdate(Payload):
    userId: str
    online: bool


class NotificationNew(Payload):
    id: str
    type: str
    title: str
    body: str
    count: int = Field(ge=1)
    payload: dict[str, Any] = Field(default_factory=dict)
    createdAt: datetime
    updatedAt: datetime


CLIENT_EVENTS: dict[str, type[Payload]] = {
    "conversation:join": JoinPayload,
    "conversation:leave": LeavePayload,
    "message:send": SendPayload,
    "message:read": ReadPayload,
    "typing": TypingPayload,
}
SERVER_EVENTS: dict[str, type[Payload]] = {
    "message:new": MessageNew,
    "message:receipt": MessageReceipt,
    "typing:update": TypingUpdate,
    "presence:update": PresenceUpdate,
    "notification:new": NotificationNew,
}
ACK_ERRORS: dict[str, str] = {
    "invalid_payload": "The payload does not match the event's schema.",
    "unknown_event": "This event is not part of the protocol.",
    "not_found": "No such conversation or message among yours.",
    "blocked": "One of you has blocked the other.",
    "rate_limited": "Too many events; slow down.",
    "duplicate_client_id": "This clientId was already used for another message.",
    "service_unavailable": "The server cannot reach what it needs (the database, or Redis); retry with backoff.",
    "internal_error": "Something failed on our side; retry.",
}


class UnknownEvent(ChatError, BadRequest):
    code = "unknown_event"
    message = "This event is not part of the protocol."


class TooManyEvents(ChatError, RateLimited):
    """The user's limit for this event is spent."""

    message = "Too many events; slow down."


class Unavailable(ChatError, ServiceUnavailable):
    """The database or Redis cannot be reached: retryable."""

    code = "service_unavailable"
    message = "The server cannot reach what it needs (the database, or Redis); retry with backoff."


class Degraded(Unavailable):
    """A connection refused because the database or Redis cannot be reached."""

    message = "The chat service is degraded; retry shortly."


class EventFailed(ChatError, InternalError):
    """An event whose handling failed on our side (logged with its traceback)."""

    message = "Something failed on our side; retry."


class TokenRequired(NotAuthenticated):
    """A connection without a session token (neither `auth.token` nor the session cookie)."""

    message = "A session token is required."


def ok(**fields: Any) -> dict[str, Any]:
    return {"ok": True, **fields}


def error(failure: AppError | type[AppError], message: str | None = None) -> dict[str, Any]:
    """The ack refusing an event: the failure's code, and `message` or the failure's own."""
    assert failure.code in ACK_ERRORS, failure.code
    text = message or failure.message or ACK_ERRORS[failure.code]
    return {"ok": False, "error": {"code": failure.code, "message": text}}
