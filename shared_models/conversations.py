"""Conversations and messages: the one implementation the platform (REST) and the chat server (sockets) share.

Every read is scoped by participant, so a caller who is not in a conversation gets None (→ 404 / ack error),
and every write is a single-document atomic operation.
"""

from dataclasses import dataclass
from datetime import datetime

from beanie import PydanticObjectId
from pymongo.errors import DuplicateKeyError

from shared_models.documents import Conversation, LastMessage, Message
from shared_models.errors import CodedError
from shared_models.ids import parse_object_id, sortable_key
from shared_models.media import NotAttachable, attachable, grant

PREVIEW_LENGTH = 140


class ChatError(CodedError):
    """A refusal with a code clients see (`blocked`, `not_found`, ...)."""


@dataclass(frozen=True)
class Sides:
    me: str
    other: str
    my_side: str  # "customer" | "provider"


def sides(conversation: Conversation, user_id: str) -> Sides | None:
    if conversation.customer_id == user_id:
        return Sides(user_id, conversation.provider_user_id, "customer")
    if conversation.provider_user_id == user_id:
        return Sides(user_id, conversation.customer_id, "provider")
    return None


def blocked_between(conversation: Conversation) -> bool:
    return conversation.customer_blocked or conversation.provider_blocked


def i_blocked(conversation: Conversation, user_id: str) -> bool:
    side = sides(conversation, user_id)
    return side is not None and bool(getattr(conversation, f"{side.my_side}_blocked"))


async def get_for_participant(conversation_id: str, user_id: str) -> Conversation | None:
    oid = parse_object_id(conversation_id)
    conversation = await Conversation.get(oid) if oid else None
    if conversation is None or sides(conversation, user_id) is None:
        return None
    return conversation


async def start(
    customer_id: str, provider_user_id: str, provider_id: str, request_id: str | None, now: datetime
) -> tuple[Conversation, bool]:
    """The pair's conversation, created if needed; True when created. Races resolve on the unique pair key."""
    pair_key = f"{customer_id}:{provider_user_id}"
    existing = await Conversation.find_one(Conversation.pair_key == pair_key)
    if existing is not None:
        return existing, False
    oid = PydanticObjectId()
    conversation = Conversation(
        id=oid,
        customer_id=customer_id,
        provider_user_id=provider_user_id,
        provider_id=provider_id,
        request_id=request_id,
        pair_key=pair_key,
        activity_key=sortable_key(now, oid),
        created_at=now,
    )
    try:
        await conversation.insert()
    except DuplicateKeyError:
        winner = await Conversation.find_one(Conversation.pair_key == pair_key)
        assert winner is not None
        return winner, False
    return conversation, True


async def list_for_user(
    user_id: str, as_customer: bool, cursor: str | None, limit: int
) -> list[Conversation]:
    query: dict[str, object] = {"customer_id" if as_customer else "provider_user_id": user_id}
    if cursor is not None:
        query["activity_key"] = {"$lt": cursor}
    return await Conversation.find(query).sort("-activity_key").limit(limit).to_list()


async def counterparts(user_id: str) -> list[str]:
    """Everyone this user has a conversation with and has not blocked, nor been blocked by."""
    as_customer = await Conversation.find({"customer_id": user_id}).to_list()
    as_provider = await Conversation.find({"provider_user_id": user_id}).to_list()
    found = [c.provider_user_id for c in as_customer if not blocked_between(c)]
    found += [c.customer_id for c in as_provider if not blocked_between(c)]
    return sorted(set(found))


async def unread_count(conversation: Conversation, user_id: str) -> int:
    side = sides(conversation, user_id)
    if side is None:
        return 0
    query: dict[str, object] = {"conversation_id": str(conversation.id), "sender_id": side.other}
    read_key = getattr(conversation, f"{side.my_side}_read_key")
    if read_key is not None:
        query["seq_key"] = {"$gt": read_key}
    return await Message.find(query).count()


async def page_messages(conversation_id: str, before: str | None, limit: int) -> list[Message]:
    query: dict[str, object] = {"conversation_id": conversation_id}
    if before is not None:
        query["seq_key"] = {"$lt": before}
    return await Message.find(query).sort("-seq_key").limit(limit).to_list()


async def send(
    conversation: Conversation,
    sender_id: str,
    body: str,
    attachments: list[str],
    client_id: str,
    now: datetime,
) -> tuple[Message, bool]:
    """Store a message once per (sender, client_id); returns it and whether it is new."""
    if blocked_between(conversation):
        raise ChatError("blocked", "Messages between you and this user are blocked.")
    # Only your own confirmed uploads: another user's object must never ride along (its download links
    # follow the message).
    try:
        media = await attachable(sender_id, attachments)
    except NotAttachable as exc:
        raise ChatError("invalid_payload", f"attachments: {exc.message}") from None
    oid = PydanticObjectId()
    message = Message(
        id=oid,
        conversation_id=str(conversation.id),
        sender_id=sender_id,
        body=body,
        attachments=attachments,
        client_id=client_id,
        dedupe_key=f"{sender_id}:{client_id}",
        seq_key=sortable_key(now, oid),
        created_at=now,
    )
    try:
        await message.insert()
    except DuplicateKeyError:
        original = await Message.find_one(Message.dedupe_key == message.dedupe_key)
        if original is None or original.conversation_id != message.conversation_id:
            raise ChatError(
                "duplicate_client_id", "This client_id was already used for another message."
            ) from None
        return original, False
    side = sides(conversation, sender_id)
    if media and side is not None:
        await grant(media, side.other, f"message:{oid}", now)
    # Moves forward only: a slower concurrent send cannot put an older preview back.
    await Conversation.get_pymongo_collection().update_one(
        {"_id": conversation.id, "activity_key": {"$lt": message.seq_key}},
        {
            "$set": {
                "activity_key": message.seq_key,
                "last_message": LastMessage(
                    message_id=str(oid), sender_id=sender_id, preview=body[:PREVIEW_LENGTH], at=now
                ).model_dump(),
            }
        },
    )
    return message, True


async def mark_read(conversation: Conversation, user_id: str, message_id: str) -> Message:
    """Move the reader's marker up to `message_id` (never back); returns that message."""
    side = sides(conversation, user_id)
    assert side is not None
    oid = parse_object_id(message_id)
    message = await Message.get(oid) if oid else None
    if message is None or message.conversation_id != str(conversation.id):
        raise ChatError("not_found", "No such message in this conversation.")
    await Conversation.get_pymongo_collection().update_one(
        {"_id": conversation.id}, {"$max": {f"{side.my_side}_read_key": message.seq_key}}
    )
    return message


async def set_blocked(conversation: Conversation, user_id: str, blocked: bool) -> Conversation:
    side = sides(conversation, user_id)
    assert side is not None
    field = f"{side.my_side}_blocked"
    await Conversation.get_pymongo_collection().update_one(
        {"_id": conversation.id}, {"$set": {field: blocked}}
    )
    setattr(conversation, field, blocked)
    return conversation
