"""A block the platform could not tell the chat server about (unreachable) is told later by the relay, once:
so what each side was shown of the other is still withdrawn."""

import httpx
import pytest

from chat_server.app import ChatApp
from platform_api.config import Settings
from platform_api.conversations.service import BLOCK_CHANGED
from platform_api.realtime import RealtimeClient
from shared_models.clock import ManualClock
from shared_models.documents import OutboxEvent
from tests.factories import API
from tests.platform_api.bookings.helpers import Parties
from tests.platform_api.notifications.helpers import relay_for


async def test_an_unreachable_chat_server_hears_of_the_block_through_the_relay(
    api: httpx.AsyncClient,
    parties: Parties,
    settings: Settings,
    chat_app: ChatApp,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started = await api.post(
        f"{API}/conversations", json={"provider_id": parties.provider_id}, headers=parties.customer.bearer
    )
    conversation_id = started.json()["id"]
    # The in-process platform's chat server URL answers nothing: the block is stored, the call fails.
    blocked = await api.put(f"{API}/conversations/{conversation_id}/block", headers=parties.provider.bearer)
    assert blocked.status_code == 200 and blocked.json()["blocked"] is True
    [waiting] = await OutboxEvent.find({"type": BLOCK_CHANGED, "dispatched_at": None}).to_list()
    assert waiting.payload == {"conversation_id": conversation_id}

    told: list[str] = []
    real = RealtimeClient.tell_conversation_changed

    async def recording(self: RealtimeClient, cid: str) -> None:
        await real(self, cid)
        told.append(cid)

    monkeypatch.setattr(RealtimeClient, "tell_conversation_changed", recording)
    relay = relay_for(settings, chat_app, clock)
    assert await relay.drain() >= 1
    assert told == [conversation_id]
    assert await OutboxEvent.find({"type": BLOCK_CHANGED, "dispatched_at": None}).to_list() == []
    assert await relay.drain() == 0 and told == [conversation_id]  # once
