"""conversation:join / conversation:leave — the conversation screen opening and closing."""

from typing import Any

from chat_server.events import typing
from chat_server.events.base import Ack, ChatContext, bind, conversation_room, handles, participant
from chat_server.events.messages import sent_before
from chat_server.protocol import JoinPayload, LeavePayload, ok


@handles("conversation:join", rate="events")
async def join(ctx: ChatContext, sid: str, session: dict[str, Any], payload: JoinPayload) -> Ack:
    await participant(ctx, session, payload.conversationId)  # authorizes, or not_found
    await ctx.sio.enter_room(sid, conversation_room(payload.conversationId))
    await ctx.state.engage(payload.conversationId, session["user_id"], sid)
    return ok(conversationId=payload.conversationId)


@handles("conversation:leave")
async def leave(ctx: ChatContext, sid: str, session: dict[str, Any], payload: LeavePayload) -> Ack:
    user_id = session["user_id"]
    conversation_id = payload.conversationId
    if not ctx.state.engaged_here(conversation_id, sid) and not ctx.state.typing_here(conversation_id, sid):
        return ok(conversationId=conversation_id)  # not on that screen: nothing to undo, nothing to pay
    await ctx.sio.leave_room(sid, conversation_room(conversation_id))
    await ctx.state.disengage(conversation_id, user_id, sid)
    # Closing the screen ends typing there too (after the messages sent before, as an explicit stop).
    if ctx.state.typing_here(conversation_id, sid):
        await sent_before(ctx, sid)
        if await ctx.state.stop_typing(conversation_id, user_id, sid):
            await typing.stopped(ctx, user_id, [conversation_id])
    return ok(conversationId=conversation_id)


def register(ctx: ChatContext) -> None:
    bind(ctx, join, leave)
