"""message:send / message:read — storing messages once and in order, fanning them out, and read receipts."""

import asyncio
from collections.abc import Sequence
from typing import Any

import structlog

from chat_server.committer import Committed
from chat_server.events.base import Ack, ChatContext, Later, bind, handles, participant, user_room
from chat_server.ordered import Announced, OrderedDelivery
from chat_server.protocol import MessageReceipt, ReadPayload, SendPayload, ok
from shared_models.clock import json_time
from shared_models.documents import DomainEvent, Message
from shared_models.notifications import CATALOGUE, Channel
from shared_models.services import conversations
from shared_models.services.conversations import Members, Outgoing
from shared_models.services.notifications import Presence, log_delivery, notify_many, realtime_payload
from shared_models.services.outbox import append_events

log = structlog.get_logger(__name__)
PREVIEW = 140


def message_payload(message: Message | Outgoing, recipient: str) -> dict[str, Any]:
    """The `new_message` notification's payload (catalogue: ChatPayload)."""
    preview = message.body[:PREVIEW] if message.body else f"{len(message.attachments)} attachment(s)"
    return {
        "conversation_id": message.members.id if isinstance(message, Outgoing) else message.conversation_id,
        "sender_id": message.sender_id,
        "recipient_id": recipient,
        "message_id": str(message.id),
        "preview": preview,
    }


def message_new(message: Message | Outgoing) -> dict[str, Any]:
    """The `message:new` payload (also the `message` of the sender's ack): `MessageNew`, built directly on
    the hot path (the protocol test checks it against the model)."""
    conversation_id = message.members.id if isinstance(message, Outgoing) else message.conversation_id
    return {
        "id": str(message.id),
        "conversationId": conversation_id,
        "senderId": message.sender_id,
        "body": message.body,
        "attachments": message.attachments,
        "clientId": message.client_id,
        "createdAt": json_time(message.created_at),
        "seq": message.seq,
        "cursor": str(message.seq),
    }


async def deliver(ctx: ChatContext, drawn: Sequence[Committed]) -> None:
    """`message:new` to every device of both participants except the sending socket (it has the ack), in
    each conversation's `seq` order: one instance emits its batch one message after another; several hand
    every drawn seq to the ordered delivery (`chat_server.ordered`), which publishes each message once all
    before it in its conversation are out, whichever instance wrote them."""
    if ctx.ordered is None:
        for committed in drawn:
            if committed.written.created:
                members = committed.out.members
                await ctx.sio.emit(
                    "message:new", message_new(committed.out), to=_rooms(members), skip_sid=committed.sid
                )
        return
    await ctx.ordered.announce(
        [
            Announced(
                c.out.members.id,
                c.out.seq,
                OrderedDelivery.emit("message:new", message_new(c.out), _rooms(c.out.members), c.sid)
                if c.written.created
                else None,
            )
            for c in drawn
        ]
    )


def _rooms(members: Members) -> list[str]:
    return [user_room(members.customer_id), user_room(members.provider_user_id)]


async def notify_recipients(ctx: ChatContext, committed: Sequence[Committed]) -> None:
    """Each stored (or resent) message's notification for the other participant, through the one creation
    path: nothing if they are looking at the conversation (no write at all), a push if they are connected
    elsewhere, else mail. Presence for the whole batch is read at once; each (recipient, conversation)'s
    messages are notified together, in order (a burst folds into its notification in a few writes). What a
    notification shows is always the stored message (a resend's own text is never shown)."""
    if not committed:
        return
    messages = [(c.out.members, c.written.original or c.out) for c in committed]
    recipients = [_recipient(members, message.sender_id) for members, message in messages]
    presences = await ctx.state.presence_many(
        [(r, members.id) for r, (members, _) in zip(recipients, messages, strict=True)]
    )
    groups: dict[tuple[str, str], tuple[Members, list[Message | Outgoing], Presence]] = {}
    for recipient, (members, message), presence in zip(recipients, messages, presences, strict=True):
        if not presence.engaged:
            groups.setdefault((recipient, members.id), (members, [], presence))[1].append(message)
    await asyncio.gather(
        *(notify_or_defer(ctx, members, batch, presence) for members, batch, presence in groups.values())
    )


def _recipient(members: Members, sender_id: str) -> str:
    side = conversations.sides(members, sender_id)
    assert side is not None
    return side.other


Said = Message | Outgoing


async def notify_recipient(
    ctx: ChatContext, members: Members, said: Sequence[Said], presence: Presence | None = None
) -> None:
    """The messages' notification for the other participant (one sender, one conversation, at least one
    message; presence as observed, or read now): one push for all of them."""
    recipient = _recipient(members, said[0].sender_id)
    if presence is None:
        (presence,) = await ctx.state.presence_many([(recipient, members.id)])
    now = ctx.clock.now()
    kind = CATALOGUE["new_message"]
    sources = [(f"message:{m.id}", message_payload(m, recipient)) for m in said]
    outcome = await notify_many(kind, recipient, sources, presence, now)
    pushed = outcome.notification
    if (
        outcome.realtime
        and pushed is not None
        and outcome.delivery_id is not None
        and await ctx.state.first_delivery(outcome.delivery_id)
    ):
        await ctx.sio.emit("notification:new", realtime_payload(pushed), to=user_room(recipient))
        await log_delivery(pushed, recipient, kind.key, Channel.realtime, "sent", now)


async def notify_or_defer(
    ctx: ChatContext, members: Members, said: Sequence[Said], presence: Presence | None = None
) -> None:
    """Notify now; if that fails, hand the messages to the platform's relay as domain events with the same
    source ids, so they are notified later, still through the one function, and never twice. The messages
    themselves are stored and delivered either way: a failed notification never fails them."""
    try:
        await notify_recipient(ctx, members, said, presence)
    except Exception:
        log.exception("chat.notify_failed", messages=len(said))
        now = ctx.clock.now()
        recipient = _recipient(members, said[0].sender_id)
        events = [
            (
                "conversation",
                members.id,
                DomainEvent(
                    id=f"message:{m.id}",
                    type="message.created",
                    occurred_at=now,
                    payload=message_payload(m, recipient),
                ),
            )
            for m in said
        ]
        try:
            await append_events(events, now)
        except Exception:
            log.exception("chat.notify_deferral_failed", messages=len(said))


async def _acked(pending: "asyncio.Future[Committed]") -> Ack:
    committed = await pending
    written = committed.written
    if written.error is not None:
        raise written.error
    if written.original is not None:  # a resend: the stored message, nothing delivered again
        return ok(message=message_new(written.original), duplicate=True)
    return ok(message=message_new(committed.out), duplicate=False)


def _landed(ctx: ChatContext, sid: str, done: "asyncio.Future[Committed]") -> None:
    if ctx.in_flight.get(sid) is done:
        del ctx.in_flight[sid]


async def sent_before(ctx: ChatContext, sid: str) -> None:
    """Wait until the socket's messages sent before now are delivered (or refused)."""
    pending = ctx.in_flight.get(sid)
    if pending is not None and not pending.done():
        await asyncio.wait([pending])


@handles("message:send", rate="message:send")
async def send(ctx: ChatContext, sid: str, session: dict[str, Any], payload: SendPayload) -> Later:
    members = await participant(ctx, session, payload.conversationId)
    media = await conversations.check_attachments(session["user_id"], payload.attachments)
    out = Outgoing(
        members,
        session["user_id"],
        payload.body,
        payload.attachments,
        payload.clientId,
        ctx.clock.now(),
        media=media,
    )
    assert ctx.committer is not None
    pending = ctx.committer.submit(out, sid)
    ctx.in_flight[sid] = pending
    pending.add_done_callback(lambda done: _landed(ctx, sid, done))
    return Later(_acked(pending))


@handles("message:read", rate="events")
async def read(ctx: ChatContext, sid: str, session: dict[str, Any], payload: ReadPayload) -> Ack:
    members = await participant(ctx, session, payload.conversationId)
    marker = await conversations.mark_read(members, session["user_id"], payload.messageId)
    side = conversations.sides(members, session["user_id"])
    assert side is not None
    if marker.moved and not marker.blocked:  # a receipt only when the marker really moved
        receipt = MessageReceipt(
            conversationId=payload.conversationId,
            readerId=side.me,
            upToMessageId=str(marker.message_id),
            upToSeq=marker.seq,
            readAt=ctx.clock.now(),
        ).model_dump(mode="json")
        await ctx.sio.emit("message:receipt", receipt, to=user_room(side.other))
    return ok(upToMessageId=marker.message_id, upToSeq=marker.seq)


def register(ctx: ChatContext) -> None:
    bind(ctx, send, read)
