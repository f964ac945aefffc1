"""Presence announcements follow the order of what happened to a user's devices, whatever the interleaving of
one device connecting while another disconnects (the counterparts read is where handlers used to overlap)."""

import asyncio

import pytest

from chat_server.app import ChatApp
from chat_server.events import presence

USER, COUNTERPART = "a" * 24, "b" * 24


async def test_a_device_connecting_while_another_disconnects_leaves_the_user_online(
    chat_app: ChatApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = chat_app.ctx
    announced: list[bool] = []
    reading = asyncio.Event()
    release = asyncio.Event()
    stall = [False]

    async def counterparts(user_id: str) -> list[str]:
        if stall[0]:  # the next reader (the disconnect) stalls here, as a slow read would
            stall[0] = False
            reading.set()
            await release.wait()
        return [COUNTERPART]

    async def announce(_: object, user_id: str, online: bool, to: list[str]) -> None:
        assert user_id == USER and to == [COUNTERPART]
        announced.append(online)

    monkeypatch.setattr(presence.conversations, "counterparts", counterparts)
    monkeypatch.setattr(presence, "_announce", announce)
    await presence.connected(ctx, "phone", USER, "s1")
    assert announced == [True]

    stall[0] = True
    leaving = asyncio.create_task(presence.disconnected(ctx, "phone", USER, "s1"))
    await reading.wait()  # the phone's disconnect is mid-way: removed, reading the counterparts
    arriving = asyncio.create_task(presence.connected(ctx, "laptop", USER, "s2"))
    await asyncio.sleep(0)  # (a turn of the loop: the laptop's connect starts; the test waits on nothing)
    release.set()
    await asyncio.gather(leaving, arriving)

    assert await ctx.state.is_online(USER)
    assert announced[-1] is True, announced  # what the counterpart is left with: online
    assert announced in ([True, False, True], [True]), announced
