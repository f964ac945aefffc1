"""Conversation and message models for the REST API (history loading; live traffic is on the socket)."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared_models.documents import Conversation, LastMessage, Message
from shared_models.ids import Ref
from shared_models.services.conversations import i_blocked, sides


class StartConversation(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"provider_id": "6650f0c2a1b2c3d4e5f60718"}]}
    )

    provider_id: Ref | None = Field(default=None, description="Customers: the provider to talk to.")
    request_id: Ref | None = Field(
        default=None,
        description="Either party: the booking to talk about (its other party is the counterpart).",
    )


class ConversationOut(BaseModel):
    id: str
    customer_id: str
    provider_user_id: str
    provider_id: str
    counterpart_id: str
    request_id: str | None
    last_message: LastMessage | None
    unread: int
    blocked: bool = Field(description="True when either side has blocked the other: no messages pass.")
    blocked_by_me: bool
    created_at: datetime

    @classmethod
    def of(cls, conversation: Conversation, user_id: str, unread: int) -> "ConversationOut":
        side = sides(conversation, user_id)
        assert side is not None
        return cls(
            id=str(conversation.id),
            customer_id=conversation.customer_id,
            provider_user_id=conversation.provider_user_id,
            provider_id=conversation.provider_id,
            counterpart_id=side.other,
            request_id=conversation.request_id,
            last_message=conversation.last_message,
            unread=unread,
            blocked=conversation.customer_blocked or conversation.provider_blocked,
            blocked_by_me=i_blocked(conversation, user_id),
            created_at=conversation.created_at,
        )


class ConversationPage(BaseModel):
    items: list[ConversationOut]
    next_cursor: str | None


class MessageOut(BaseModel):
    id: str
    conversation_id: str
    sender_id: str
    body: str
    attachments: list[str]
    client_id: str
    created_at: datetime
    seq: int = Field(description="The message's place in its conversation: strictly increasing.")
    cursor: str = Field(description="Pass as `before` to load older messages (the `seq`).")

    @classmethod
    def of(cls, message: Message) -> "MessageOut":
        return cls(
            id=str(message.id),
            conversation_id=message.conversation_id,
            sender_id=message.sender_id,
            body="" if message.deleted_at else message.body,
            attachments=[] if message.deleted_at else message.attachments,
            client_id=message.client_id,
            created_at=message.created_at,
            seq=message.seq,
            cursor=str(message.seq),
        )


class MessagePage(BaseModel):
    items: list[MessageOut] = Field(description="Newest first.")
    next_cursor: str | None
