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


class Conversation(Document):
    customer_id: Ref
    provider_user_id: Ref
    provider_id: Ref  # the ProviderProfile
    request_id: Ref | None = None
    # One conversation per customer-provider pair.
    pair_key: Annotated[str, Indexed(unique=True)]
    last_message: LastMessage | None = None
    # `seq_key` of the last message each side has read (moves forward only, via $max); unread counts are
    # derived from it with an indexed count, so they can never drift.
    customer_read_key: str | None = None
    provider_read_key: str | None = None
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
    attachments: list[str] = Field(default_factory=list, max_length=10)  # S3 object keys
    client_id: str = Field(min_length=1, max_length=64)
    # The sender and their client-generated id, unique: a resend stores nothing new.
    dedupe_key: Annotated[str, Indexed(unique=True)]
    seq_key: str  # created_at + id, sortable: paging and read markers
    created_at: datetime
    deleted_at: datetime | None = None

    class Settings:
        name = "messages"
        indexes = [
            IndexModel([("conversation_id", ASCENDING)]),
            IndexModel([("sender_id", ASCENDING)]),
            IndexModel([("conversation_id", ASCENDING), ("seq_key", DESCENDING)]),
            IndexModel([("conversation_id", ASCENDING), ("sender_id", ASCENDING), ("seq_key", ASCENDING)]),
        ]
