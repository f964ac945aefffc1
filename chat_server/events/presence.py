"""Presence: online while any of a user's devices is connected; told to their (unblocked) counterparts.

What a socket leaves behind is withdrawn when it goes: its engagement (so the user is notified again), its
typing (the counterpart hears `isTyping: false`) and its presence (offline when it was the last device).
When a whole instance dies, another instance does the same for its sockets once their entries expire
(`StateStore.reap`).
"""

import structlog

from chat_server.events import typing
from chat_server.events.base import ChatContext, user_room
from chat_server.events.messages import sent_before
from chat_server.protocol import PresenceUpdate, TypingUpdate
from chat_server.state import Withdrawn
from shared_models.services import conversations

log = structlog.get_logger(__name__)


async def _announce(ctx: ChatContext, user_id: str, online: bool, counterparts: list[str]) -> None:
    update = PresenceUpdate(userId=user_id, online=online).model_dump(mode="json")
    for counterpart in counterparts:
        await ctx.sio.emit("presence:update", update, to=user_room(counterpart))


async def connected(ctx: ChatContext, sid: str, user_id: str, jti: str) -> None:
    # One user's presence changes are announced in the order they happen (a device connecting while
    # another disconnects must not leave the counterparts with "offline" last).
    async with ctx.presence_locks.hold(user_id):
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
    await sent_before(ctx, sid)  # its typing ends after the messages it sent before going
    async with ctx.presence_locks.hold(user_id):
        await withdraw(ctx, await ctx.state.remove_socket(user_id, sid, jti))


async def withdraw(ctx: ChatContext, gone: Withdrawn) -> None:
    """Tell counterparts what sockets that went leave behind: typing stopped, and users gone offline (unless
    a device of theirs came back meanwhile, on this instance or another)."""
    for user_id, conversation_ids in gone.stopped_typing.items():
        await typing.stopped(ctx, user_id, conversation_ids)
    for user_id in gone.offline:
        counterparts = await conversations.counterparts(user_id)
        if not await ctx.state.is_online(user_id):
            await _announce(ctx, user_id, False, counterparts)


async def reap(ctx: ChatContext) -> None:
    """Withdraw the sockets of instances that died without a word (their entries expired)."""
    gone = await ctx.state.reap()
    if gone.offline or gone.stopped_typing:
        log.info("chat.reaped", offline=len(gone.offline), typing=len(gone.stopped_typing))
        await withdraw(ctx, gone)


async def block_changed(ctx: ChatContext, conversation_id: str) -> None:
    """A block was set or lifted (the platform says so). Set: what each side was shown of the other is
    withdrawn (its typing there, its presence), since nothing crosses a block. Lifted: each side is shown
    the other's presence as it is now."""
    members = await ctx.directory.read(conversation_id)
    if members is None:
        return
    blocked = await ctx.directory.blocked(members)
    for me, other in (
        (members.customer_id, members.provider_user_id),
        (members.provider_user_id, members.customer_id),
    ):
        if blocked:
            typing_off = TypingUpdate(conversationId=conversation_id, userId=other, isTyping=False)
            await ctx.sio.emit("typing:update", typing_off.model_dump(mode="json"), to=user_room(me))
            await _announce(ctx, other, False, [me])
        elif await ctx.state.is_online(other):
            await _announce(ctx, other, True, [me])


async def resync(ctx: ChatContext) -> None:
    """Close every socket of this instance at the transport (not a Socket.IO disconnect, which the official
    client would not retry): each reconnects by itself and, as after any reconnection, reloads over REST what
    it may have missed."""
    sockets = list(ctx.sessions)
    for sid in sockets:
        eio_sid = ctx.sio.manager.eio_sid_from_sid(sid, "/")
        if eio_sid is not None:
            await ctx.sio.close_transport(eio_sid)
    log.warning("chat.resynced_after_shared_state_outage", sockets=len(sockets))
