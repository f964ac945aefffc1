"""Conversations (a customer and a provider) and their messages."""

from datetime import datetime
from typing import Annotated

from beanie import Document, Indexed
from pydantic import BaseModel, Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from shared_models.ids import Ref

MAX_BODY = 4000


class LastMessage(BaseModel):
    # A subdocument on purpose: the engine stores a top-level datetime written by $set as a string.
    message_id: str
    sender_id: Ref
    preview: str
    at: datetime
    seq: int = 0


class Conversation(Document):
    customer_id: Ref
    provider_user_id: Ref
    provider_id: Ref  # the ProviderProfile
    request_id: Ref | None = None
    # One conversation per customer-provider pair.
    pair_key: Annotated[str, Indexed(unique=True)]
    last_message: LastMessage | None = None
    # The `seq` of `last_message`: its update is guarded by it, so a slower writer never puts an older
    # preview back (0: no message yet).
    last_seq: int = 0
    # Each side's read marker: the `seq` of the last message it has read and that message's id. Moved
    # forward only (compare-and-set on the seq); unread counts are derived from it with an indexed count, so
    # they can never drift.
    customer_read_seq: int = 0
    customer_read_id: str | None = None
    provider_read_seq: int = 0
    provider_read_id: str | None = None
    customer_blocked: bool = False  # the customer blocked the provider
    provider_blocked: bool = False  # the provider blocked the customer
    # Last activity + id, sortable: "newest activity first" with a stable cursor.
    activity_key: str
    created_at: datetime

    class Settings:
        name = "conversations"
        indexes = [
            IndexModel([("customer_id", ASCENDING)]),
            IndexModel([("provider_user_id", ASCENDING)]),
            IndexModel([("customer_id", ASCENDING), ("activity_key", DESCENDING)]),
            IndexModel([("provider_user_id", ASCENDING), ("activity_key", DESCENDING)]),
        ]


class Message(Document):
    conversation_id: Ref
    sender_id: Ref
    body: str = Field(max_length=MAX_BODY)
    attachments: list[str] = Field(default_factory=list, max_length=10)  # media ids
    # The sender's own id for the message: the document's id is derived from (sender, client_id)
    # (`shared_models.services.conversations.message_id`), so a resend stores nothing new.
    client_id: str = Field(min_length=1, max_length=64)
    # The conversation's total order: assigned by the server, strictly increasing, unique per conversation
    # (the unique index is the arbiter if two writers ever pick the same number). It is the history cursor
    # and what read markers compare.
    seq: int = Field(ge=1)
    created_at: datetime
    deleted_at: datetime | None = None

    class Settings:
        name = "messages"
        indexes = [
            IndexModel([("conversation_id", ASCENDING)]),
            # History, the last seq and unread counts (a range on seq, the sender filtered among the few
            # messages after the reader's marker). Every index costs each message's insert, the hottest
            # write there is: no (conversation, sender, seq) index, which the engine's planner never chose,
            # and none by sender (the GDPR export takes a user's messages from their conversations).
            IndexModel([("conversation_id", ASCENDING), ("seq", DESCENDING)], unique=True),
        ]
