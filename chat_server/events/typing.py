"""typing — forwarded to the counterpart only, never across a block; rate-limited per user."""

from typing import Any

from chat_server.events.base import Ack, ChatContext, on, participant_conversation, user_room
from chat_server.protocol import TypingPayload, TypingUpdate, ok
from shared_models import conversations


def register(ctx: ChatContext) -> None:
    @on(ctx, "typing", rate="typing")
    async def typing(ctx: ChatContext, sid: str, session: dict[str, Any], payload: TypingPayload) -> Ack:
        conversation = await participant_conversation(session, payload.conversationId)
        side = conversations.sides(conversation, session["user_id"])
        assert side is not None
        if not conversations.blocked_between(conversation):  # hidden, not refused, across a block
            update = TypingUpdate(
                conversationId=payload.conversationId, userId=side.me, isTyping=payload.isTyping
            )
            await ctx.sio.emit("typing:update", update.model_dump(mode="json"), to=user_room(side.other))
        return ok()
