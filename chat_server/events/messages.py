"""message:send / message:read — storing messages once, fanning them out, and read receipts."""

from typing import Any

from chat_server.events.base import Ack, ChatContext, on, participant_conversation, user_room
from chat_server.protocol import MessageNew, MessageReceipt, ReadPayload, SendPayload, ok
from shared_models import conversations
from shared_models.documents import Message


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
