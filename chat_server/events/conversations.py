"""conversation:join / conversation:leave — the conversation screen opening and closing."""

from typing import Any

from chat_server.events import typing
from chat_server.events.base import Ack, ChatContext, conversation_room, on, participant
from chat_server.protocol import JoinPayload, LeavePayload, ok


def register(ctx: ChatContext) -> None:
    @on(ctx, "conversation:join", rate="events")
    async def join(ctx: ChatContext, sid: str, session: dict[str, Any], payload: JoinPayload) -> Ack:
        await participant(ctx, session, payload.conversationId)  # authorizes, or not_found
        await ctx.sio.enter_room(sid, conversation_room(payload.conversationId))
        await ctx.state.engage(payload.conversationId, session["user_id"], sid)
        return ok(conversationId=payload.conversationId)

    @on(ctx, "conversation:leave")
    async def leave(ctx: ChatContext, sid: str, session: dict[str, Any], payload: LeavePayload) -> Ack:
        user_id = session["user_id"]
        await ctx.sio.leave_room(sid, conversation_room(payload.conversationId))
        await ctx.state.disengage(payload.conversationId, user_id, sid)
        # Closing the screen ends typing there too.
        if await ctx.state.stop_typing(payload.conversationId, user_id, sid):
            await typing.stopped(ctx, user_id, [payload.conversationId])
        return ok(conversationId=payload.conversationId)
