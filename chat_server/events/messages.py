"""message:send / message:read — storing messages once, fanning them out, and read receipts."""

from typing import Any

import structlog

from chat_server.events.base import Ack, ChatContext, on, participant_conversation, user_room
from chat_server.protocol import MessageNew, MessageReceipt, ReadPayload, SendPayload, ok
from shared_models import conversations
from shared_models.documents import Conversation, DomainEvent, Message
from shared_models.notifications import CATALOGUE, Channel
from shared_models.notify import Presence, log_delivery, notify, realtime_payload
from shared_models.outbox import append_events

log = structlog.get_logger(__name__)
PREVIEW = 140


def message_payload(message: Message, recipient: str) -> dict[str, Any]:
    """The `new_message` notification's payload (catalogue: ChatPayload)."""
    preview = message.body[:PREVIEW] if message.body else f"{len(message.attachments)} attachment(s)"
    return {
        "conversation_id": message.conversation_id,
        "sender_id": message.sender_id,
        "recipient_id": recipient,
        "message_id": str(message.id),
        "preview": preview,
    }


async def notify_recipient(ctx: ChatContext, conversation: Conversation, message: Message) -> None:
    """The new message's notification for the other participant, through the one creation path: nothing
    if they are looking at the conversation, a push if they are connected elsewhere, else mail."""
    side = conversations.sides(conversation, message.sender_id)
    assert side is not None
    recipient = side.other
    presence = Presence(
        online=await ctx.state.is_online(recipient),
        engaged=await ctx.state.is_engaged(message.conversation_id, recipient),
    )
    now = ctx.clock.now()
    kind = CATALOGUE["new_message"]
    outcome = await notify(
        kind, recipient, f"message:{message.id}", message_payload(message, recipient), presence, now
    )
    pushed = outcome.notification
    if (
        outcome.realtime
        and pushed is not None
        and outcome.delivery_id is not None
        and await ctx.state.first_delivery(outcome.delivery_id)
    ):
        await ctx.sio.emit("notification:new", realtime_payload(pushed), to=user_room(recipient))
        await log_delivery(pushed, recipient, kind.key, Channel.realtime, "sent", now)


def message_new(message: Message) -> dict[str, Any]:
    return MessageNew(
        id=str(message.id),
        conversationId=message.conversation_id,
        senderId=message.sender_id,
        body=message.body,
        attachments=message.attachments,
        clientId=message.client_id,
        createdAt=message.created_at,
        cursor=message.seq_key,
    ).model_dump(mode="json")


async def notify_or_defer(ctx: ChatContext, conversation: Conversation, message: Message) -> None:
    """Notify now; if that fails, hand the message to the platform's relay as a domain event with the same
    source id, so it is notified later, still through the one function, and never twice. The message itself
    is stored and delivered either way: a failed notification never fails it."""
    try:
        await notify_recipient(ctx, conversation, message)
    except Exception:
        log.exception("chat.notify_failed", message_id=str(message.id))
        side = conversations.sides(conversation, message.sender_id)
        assert side is not None
        now = ctx.clock.now()
        event = DomainEvent(
            id=f"message:{message.id}",
            type="message.created",
            occurred_at=now,
            payload=message_payload(message, side.other),
        )
        try:
            await append_events([("conversation", message.conversation_id, event)], now)
        except Exception:
            log.exception("chat.notify_deferral_failed", message_id=str(message.id))


def register(ctx: ChatContext) -> None:
    @on(ctx, "message:send", rate="message:send")
    async def send(ctx: ChatContext, sid: str, session: dict[str, Any], payload: SendPayload) -> Ack:
        conversation = await participant_conversation(session, payload.conversationId)
        message, created = await conversations.send(
            conversation,
            session["user_id"],
            payload.body,
            payload.attachments,
            payload.clientId,
            ctx.clock.now(),
        )
        data = message_new(message)
        if created:
            # Every device of both participants (the list screen too), except the socket that sent it: it has
            # the ack. A resend stores and sends nothing new.
            rooms = [user_room(conversation.customer_id), user_room(conversation.provider_user_id)]
            await ctx.sio.emit("message:new", data, to=rooms, skip_sid=sid)
            await notify_or_defer(ctx, conversation, message)
        return ok(message=data, duplicate=not created)

    @on(ctx, "message:read")
    async def read(ctx: ChatContext, sid: str, session: dict[str, Any], payload: ReadPayload) -> Ack:
        conversation = await participant_conversation(session, payload.conversationId)
        message = await conversations.mark_read(conversation, session["user_id"], payload.messageId)
        side = conversations.sides(conversation, session["user_id"])
        assert side is not None
        if not conversations.blocked_between(conversation):
            receipt = MessageReceipt(
                conversationId=payload.conversationId,
                readerId=side.me,
                upToMessageId=str(message.id),
                readAt=ctx.clock.now(),
            ).model_dump(mode="json")
            await ctx.sio.emit("message:receipt", receipt, to=user_room(side.other))
        return ok(upToMessageId=str(message.id))
