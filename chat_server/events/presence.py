"""Presence: online while any of a user's devices is connected; told to their (unblocked) counterparts."""

import structlog

from chat_server.events.base import ChatContext, user_room
from chat_server.protocol import PresenceUpdate
from shared_models import conversations

log = structlog.get_logger(__name__)


async def _announce(ctx: ChatContext, user_id: str, online: bool, counterparts: list[str]) -> None:
    update = PresenceUpdate(userId=user_id, online=online).model_dump(mode="json")
    for counterpart in counterparts:
        await ctx.sio.emit("presence:update", update, to=user_room(counterpart))


async def connected(ctx: ChatContext, sid: str, user_id: str, jti: str) -> None:
    counterparts = await conversations.counterparts(user_id)
    if await ctx.state.add_socket(user_id, sid, jti):
        await _announce(ctx, user_id, True, counterparts)
    # The new device learns who is online now; later changes arrive as they happen.
    for counterpart in counterparts:
        if await ctx.state.is_online(counterpart):
            await ctx.sio.emit(
                "presence:update",
                PresenceUpdate(userId=counterpart, online=True).model_dump(mode="json"),
                to=sid,
            )


async def disconnected(ctx: ChatContext, sid: str, user_id: str, jti: str) -> None:
    await ctx.state.disengage_socket(user_id, sid)
    if await ctx.state.remove_socket(user_id, sid, jti):
        await _announce(ctx, user_id, False, await conversations.counterparts(user_id))
