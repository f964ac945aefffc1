"""typing — forwarded to the counterpart only, never across a block; rate-limited per user (a stop never is).

Who is typing where is recorded per socket, so it is withdrawn when that socket leaves the conversation or
goes (disconnect, or its instance dies: see `presence.withdraw`): the counterpart is told `isTyping: false`
once no device of the user is typing there any more.
"""

from typing import Any

from chat_server.events.base import Ack, ChatContext, on, participant, user_room
from chat_server.events.messages import sent_before
from chat_server.protocol import TypingPayload, TypingUpdate, ok
from shared_models import conversations
from shared_models.conversations import Members


async def tell(ctx: ChatContext, members: Members, user_id: str, is_typing: bool) -> None:
    """`typing:update` to the counterpart, unless a block stands between them (hidden, not refused)."""
    side = conversations.sides(members, user_id)
    if side is None or await ctx.directory.blocked(members):
        return
    update = TypingUpdate(conversationId=members.id, userId=side.me, isTyping=is_typing)
    await ctx.sio.emit("typing:update", update.model_dump(mode="json"), to=user_room(side.other))


async def stopped(ctx: ChatContext, user_id: str, conversation_ids: list[str]) -> None:
    """The user no longer types in these conversations on any device: tell each counterpart."""
    for conversation_id in conversation_ids:
        members = await ctx.directory.members(conversation_id, user_id)
        if members is not None:
            await tell(ctx, members, user_id, False)


def register(ctx: ChatContext) -> None:
    @on(ctx, "typing", rate="typing", limited=lambda payload: bool(payload.isTyping))
    async def typing(ctx: ChatContext, sid: str, session: dict[str, Any], payload: TypingPayload) -> Ack:
        members = await participant(ctx, session, payload.conversationId)
        user_id = session["user_id"]
        await sent_before(ctx, sid)  # a typing after a message reaches the counterpart after the message
        if payload.isTyping:
            await ctx.state.start_typing(members.id, user_id, sid)
            await tell(ctx, members, user_id, True)
        elif await ctx.state.stop_typing(members.id, user_id, sid):
            await tell(ctx, members, user_id, False)
        return ok()
