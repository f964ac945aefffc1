"""Conversations and messages: the one implementation the platform (REST) and the chat server (sockets) share.

Every read is scoped by participant, so a caller who is not in a conversation gets None (→ 404 / ack error),
and every write is a single-document atomic operation or a unique-key claim:
- a message's place in its conversation (`seq`) is unique per conversation (unique index): whoever picks a
  number someone else already stored gets the collision back and picks again;
- a resend of the same (sender, clientId) has the same id (`message_id`): the primary key refuses it, and the
  stored message answers;
- the conversation's preview moves forward only (guarded by `last_seq`);
- read markers move forward only (compare-and-set on the seq), and report what is stored.
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from beanie import PydanticObjectId
from bson import ObjectId
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared_models import store
from shared_models.documents import Conversation, LastMessage, MediaObject, Message
from shared_models.errors import AppError, Conflict, Forbidden, InternalError, NotFound, Unprocessable
from shared_models.ids import parse_object_id, sortable_key
from shared_models.services.media import NotAttachable, attachable, grant

PREVIEW_LENGTH = 140
SEND_ATTEMPTS = 5


BLOCKED = "Messages between you and this user are blocked."


class ChatError(AppError):
    """A refusal the chat protocol answers in an event's ack (`chat_server.protocol.ACK_ERRORS`)."""


class NotAmongYours(ChatError, NotFound):
    """No such conversation among the user's, or no such message in it."""

    code = "not_found"
    message = "No such conversation among yours."


class Blocked(ChatError, Forbidden):
    code = "blocked"
    message = BLOCKED


class InvalidPayload(ChatError, Unprocessable):
    code = "invalid_payload"
    message = "The payload does not match the event's schema."


class DuplicateClientId(ChatError, Conflict):
    code = "duplicate_client_id"
    message = "This client_id was already used for another message."


class KeptMoving(ChatError, InternalError):
    """A message's seq was taken by other writers on every attempt."""

    message = "The conversation kept moving; retry."


class Parties(Protocol):
    @property
    def customer_id(self) -> str: ...

    @property
    def provider_user_id(self) -> str: ...


@dataclass(frozen=True)
class Members:
    """Who takes part in a conversation: never changes once the conversation exists, so it may be cached."""

    id: str
    customer_id: str
    provider_user_id: str

    @classmethod
    def of(cls, conversation: Conversation) -> "Members":
        return cls(str(conversation.id), conversation.customer_id, conversation.provider_user_id)


@dataclass(frozen=True)
class Sides:
    me: str
    other: str
    my_side: str  # "customer" | "provider"


def sides(conversation: Parties, user_id: str) -> Sides | None:
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
    read_seq = getattr(conversation, f"{side.my_side}_read_seq")
    if read_seq:
        query["seq"] = {"$gt": read_seq}
    return await store.count(Message, query)


async def page_messages(conversation_id: str, before: int | None, limit: int) -> list[Message]:
    """Newest first; `before` is a message's `seq` (the cursor): only older ones."""
    query: dict[str, object] = {"conversation_id": conversation_id}
    if before is not None:
        query["seq"] = {"$lt": before}
    return await Message.find(query).sort("-seq").limit(limit).to_list()


async def last_seq(conversation_id: str) -> int:
    """The highest `seq` stored in the conversation (0 when empty): one index-served read."""
    newest = (
        await store.read_many(  # the range on seq makes it one step down the (conversation_id, seq) index
            Message,
            {"conversation_id": conversation_id, "seq": {"$gte": 1}},
            {"seq": 1},
            sort=[("seq", -1)],
            limit=1,
        )
    )
    return int(newest[0]["seq"]) if newest else 0


# --- writing messages -------------------------------------------------------------------------------------


def message_id(sender_id: str, client_id: str) -> ObjectId:
    """A message's id, derived from its sender and clientId: a resend carries the same id, so the primary key
    itself refuses the second copy and answers with the first (no separate unique index on the hottest
    insert there is). 96 bits of BLAKE2b: the id's leading bytes are not a creation time."""
    return ObjectId(hashlib.blake2b(f"{sender_id}:{client_id}".encode(), digest_size=12).digest())


@dataclass
class Outgoing:
    """A message accepted for writing, waiting for its place in the conversation (`seq`)."""

    members: Members
    sender_id: str
    body: str
    attachments: list[str]
    client_id: str
    created_at: datetime
    seq: int = 0
    media: list[MediaObject] = field(default_factory=list)  # the attachments' uploads, as checked
    id: ObjectId = field(init=False)

    def __post_init__(self) -> None:
        self.id = message_id(self.sender_id, self.client_id)

    def record(self) -> dict[str, Any]:
        """The stored document (the `Message` schema, built without a model: this is the hot path)."""
        return {
            "_id": self.id,
            "conversation_id": self.members.id,
            "sender_id": self.sender_id,
            "body": self.body,
            "attachments": self.attachments,
            "client_id": self.client_id,
            "seq": self.seq,
            "created_at": self.created_at,
        }

    def message(self) -> Message:
        message: Message = Message.model_validate(self.record())
        return message


@dataclass(frozen=True)
class Written:
    """What became of one outgoing message: stored now (`created`: the message is the outgoing one), found
    stored before (a resend: `original`), refused (`error`), or `collided` (its seq was taken by another
    writer: pick a new one and write it again)."""

    created: bool = False
    original: Message | None = None
    error: ChatError | None = None
    collided: bool = False


async def check_attachments(sender_id: str, attachments: list[str]) -> list[MediaObject]:
    """Only the sender's own confirmed uploads may ride along (their download links follow the message):
    those uploads, for `Outgoing.media`."""
    if not attachments:
        return []
    try:
        return await attachable(sender_id, attachments)
    except NotAttachable as exc:
        raise InvalidPayload(f"attachments: {exc.message}") from None


async def insert_messages(batch: Sequence[Outgoing]) -> list[Written]:
    """Store messages whose `seq` is assigned, in one unordered round trip whatever their number. Returns
    one `Written` per message, in order; a message refused by a unique key is resolved (resend, clientId
    used elsewhere, or seq collision), any other failure raised."""
    if not batch:
        return []
    try:
        new = set(await store.insert_new(Message, [out.record() for out in batch]))
    except BulkWriteError as exc:
        raise RuntimeError(f"message insert failed: {exc}") from exc
    written = []
    for i, out in enumerate(batch):
        if i not in new:
            written.append(await _collision(out))
        else:
            if out.attachments:
                await _grant_attachments(out)
            written.append(Written(created=True))
    return written


async def _collision(out: Outgoing) -> Written:
    """A message a unique key refused: a resend (the stored one answers), a clientId used elsewhere, or a
    seq another writer took first."""
    original = await Message.get(out.id)
    if original is None:
        return Written(collided=True)
    if original.conversation_id != out.members.id:
        return Written(error=DuplicateClientId())
    return Written(original=original)


async def _grant_attachments(out: Outgoing) -> None:
    """The other participant may download what rode along (checked when the message was accepted)."""
    side = sides(out.members, out.sender_id)
    if side is not None and out.media:
        await grant(out.media, side.other, f"message:{out.id}", out.created_at)


async def withdraw_unseen(stored: Sequence[Outgoing]) -> None:
    """Take back messages stored a moment ago that nobody has been told of yet (no `message:new`, no ack),
    so they can be stored again at a later place in their conversation's order (a seq collision made their
    place wrong). One delete by id each: rare, and `$in` would scan on the engine."""
    for out in stored:
        await store.delete_one(Message, {"_id": out.id})


async def record_activity(newest: Sequence[Outgoing | Message]) -> None:
    """Move each conversation's preview and activity to its newest stored message, in one bulk write: the
    preview only forward (guarded by `last_seq`, so a slower writer never puts an older one back), the
    activity key never back."""
    if not newest:
        return
    updates = []
    for last in newest:
        conversation_id = last.members.id if isinstance(last, Outgoing) else last.conversation_id
        message_id = ObjectId(str(last.id))
        preview = LastMessage(
            message_id=str(message_id),
            sender_id=last.sender_id,
            preview=last.body[:PREVIEW_LENGTH],
            at=last.created_at,
            seq=last.seq,
        )
        updates.append(
            (
                {"_id": ObjectId(conversation_id), "last_seq": {"$lt": last.seq}},
                {
                    "$set": {"last_message": preview.model_dump(), "last_seq": last.seq},
                    "$max": {"activity_key": sortable_key(last.created_at, message_id)},
                },
            )
        )
    await store.update_each(Conversation, updates)


async def with_current_activity(conversation: Conversation) -> Conversation:
    """The conversation with its preview as its stored messages have it. The chat server writes activity
    coalesced (at most a fraction of a second behind under load), and a crash of it can leave the last
    ones unwritten: a reader that finds the preview behind the newest message writes it (the same guarded,
    forward-only write) and answers with it. One index-served read."""
    newest = await page_messages(str(conversation.id), None, 1)
    if not newest or newest[0].seq <= conversation.last_seq:
        return conversation
    message = newest[0]
    await record_activity([message])
    fresh = await Conversation.get(conversation.id)
    return fresh if fresh is not None else conversation


def newest_per_conversation(messages: Sequence[Outgoing]) -> list[Outgoing]:
    newest: dict[str, Outgoing] = {}
    for out in messages:
        known = newest.get(out.members.id)
        if known is None or out.seq > known.seq:
            newest[out.members.id] = out
    return list(newest.values())


async def send(
    conversation: Conversation,
    sender_id: str,
    body: str,
    attachments: list[str],
    client_id: str,
    now: datetime,
) -> tuple[Message, bool]:
    """Store one message outside the chat server's batches (scripts, tests); returns it and whether it is
    new. The block state is read fresh; the seq is the conversation's highest plus one, claimed by the
    unique index (retried on collision)."""
    fresh = await Conversation.get(conversation.id)
    if fresh is None:
        raise NotAmongYours()
    if blocked_between(fresh):
        raise Blocked()
    media = await check_attachments(sender_id, attachments)
    out = Outgoing(Members.of(fresh), sender_id, body, attachments, client_id, now, media=media)
    for _ in range(SEND_ATTEMPTS):
        out.seq = await last_seq(out.members.id) + 1
        (written,) = await insert_messages([out])
        if written.error is not None:
            raise written.error
        if written.original is not None:
            return written.original, False
        if written.created:
            await record_activity([out])
            return out.message(), True
    raise KeptMoving()


@dataclass(frozen=True)
class ReadMarker:
    """A reader's stored marker after a read: the message it names, whether this read moved it, and whether
    the conversation is blocked (receipts do not cross a block)."""

    message_id: str | None
    seq: int  # the marked message's seq (0: none read yet)
    moved: bool
    blocked: bool


async def mark_read(members: Members, user_id: str, message_id: str) -> ReadMarker:
    """Move the reader's marker up to `message_id`, never back (compare-and-set on the seq): one read of the
    message and one write; one more read when the marker was already there or beyond."""
    side = sides(members, user_id)
    assert side is not None
    oid = parse_object_id(message_id)
    message = await Message.get(oid) if oid else None
    if message is None or message.conversation_id != members.id:
        raise NotAmongYours("No such message in this conversation.")
    seq_field, id_field = f"{side.my_side}_read_seq", f"{side.my_side}_read_id"
    shown = {id_field: 1, seq_field: 1, "customer_blocked": 1, "provider_blocked": 1}
    doc = await store.update_if(
        Conversation,
        {"_id": ObjectId(members.id), seq_field: {"$lt": message.seq}},
        {"$set": {seq_field: message.seq, id_field: str(message.id)}},
        fields=shown,
    )
    moved = doc is not None
    if doc is None:
        doc = await store.read_one(Conversation, {"_id": ObjectId(members.id)}, shown)
        if doc is None:
            raise NotAmongYours()
    return ReadMarker(
        message_id=doc.get(id_field),
        seq=int(doc.get(seq_field) or 0),
        moved=moved,
        blocked=bool(doc.get("customer_blocked") or doc.get("provider_blocked")),
    )


async def set_blocked(conversation: Conversation, user_id: str, blocked: bool) -> Conversation:
    side = sides(conversation, user_id)
    assert side is not None
    field = f"{side.my_side}_blocked"
    await store.update_one(Conversation, {"_id": conversation.id}, {"$set": {field: blocked}})
    setattr(conversation, field, blocked)
    return conversation
