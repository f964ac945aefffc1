"""typing — forwarded to the counterpart only, never across a block; rate-limited per user (a stop never is).

Who is typing where is recorded per socket, so it is withdrawn when that socket leaves the conversation or
goes (disconnect, or its instance dies: see `presence.withdraw`): the counterpart is told `isTyping: false`
once no device of the user is typing there any more.
"""

from typing import Any

from chat_server.events.base import Ack, ChatContext, bind, handles, participant, user_room
from chat_server.events.messages import sent_before
from chat_server.protocol import TypingPayload, TypingUpdate, ok
from shared_models.services import conversations
from shared_models.services.conversations import Members


async def tell(ctx: ChatContext, members: Members, user_id: str, is_typing: bool) -> None:
    """`typing:update` to the counterpart, unless a block stands between them (hidden, not refused): the
    block state as of now on every instance, as for messages (`blocked_now`)."""
    side = conversations.sides(members, user_id)
    if side is None or (await ctx.directory.blocked_now([members.id]))[members.id]:
        return
    update = TypingUpdate(conversationId=members.id, userId=side.me, isTyping=is_typing)
    await ctx.sio.emit("typing:update", update.model_dump(mode="json"), to=user_room(side.other))


async def stopped(ctx: ChatContext, user_id: str, conversation_ids: list[str]) -> None:
    """The user no longer types in these conversations on any device: tell each counterpart (after the
    messages the user's socket sent before, when the caller waited for them: `sent_before`)."""
    for conversation_id in conversation_ids:
        members = await ctx.directory.members(conversation_id, user_id)
        if members is not None:
            await tell(ctx, members, user_id, False)


@handles("typing", rate="typing", limited=lambda payload: bool(payload.isTyping))
async def typing(ctx: ChatContext, sid: str, session: dict[str, Any], payload: TypingPayload) -> Ack:
    user_id = session["user_id"]
    if not payload.isTyping and not ctx.state.typing_here(payload.conversationId, sid):
        return ok()  # a stop where this socket is not typing changes nothing (and costs nothing)
    members = await participant(ctx, session, payload.conversationId)
    await sent_before(ctx, sid)  # a typing after a message reaches the counterpart after the message
    if payload.isTyping:
        await ctx.state.start_typing(members.id, user_id, sid)
        await tell(ctx, members, user_id, True)
    elif await ctx.state.stop_typing(members.id, user_id, sid):
        await tell(ctx, members, user_id, False)
    return ok()


def register(ctx: ChatContext) -> None:
    bind(ctx, typing)
