"""conversation:join / conversation:leave — the conversation screen opening and closing."""

from typing import Any

from chat_server.events.base import Ack, ChatContext, conversation_room, on, participant_conversation
from chat_server.protocol import JoinPayload, LeavePayload, ok


def register(ctx: ChatContext) -> None:
    @on(ctx, "conversation:join")
    async def join(ctx: ChatContext, sid: str, session: dict[str, Any], payload: JoinPayload) -> Ack:
        await participant_conversation(session, payload.conversationId)  # authorizes, or not_found
        await ctx.sio.enter_room(sid, conversation_room(payload.conversationId))
        await ctx.state.engage(payload.conversationId, session["user_id"], sid)
        return ok(conversationId=payload.conversationId)

    @on(ctx, "conversation:leave")
    async def leave(ctx: ChatContext, sid: str, session: dict[str, Any], payload: LeavePayload) -> Ack:
        await ctx.sio.leave_room(sid, conversation_room(payload.conversationId))
        await ctx.state.disengage(payload.conversationId, session["user_id"], sid)
        return ok(conversationId=payload.conversationId)
