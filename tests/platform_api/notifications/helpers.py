"""Notification test helpers: a relay wired to the in-process chat server, and reading what a user got."""

import uuid
from datetime import datetime
from typing import Any

import httpx

from chat_server.app import ChatApp
from platform_api.config import Settings
from platform_api.notifications.relay import NotificationRelay
from platform_api.outbox.service import outbox_service
from platform_api.realtime import RealtimeClient
from shared_models.clock import Clock
from shared_models.documents import DomainEvent, Notification


def relay_for(settings: Settings, chat_app: ChatApp, clock: Clock) -> NotificationRelay:
    """The platform's relay, talking to the in-process chat server's internal API."""
    return NotificationRelay(RealtimeClient(settings, transport=httpx.ASGITransport(app=chat_app)), clock)


async def publish(event_type: str, payload: dict[str, Any], now: datetime) -> str:
    """A domain event in the outbox, as its producer would write it."""
    event_id = f"test:{uuid.uuid4().hex}"
    event = DomainEvent(id=event_id, type=event_type, occurred_at=now, payload=payload)
    await outbox_service.append([("test", event_id, event)], now)
    return event_id


async def received(user_id: str) -> list[Notification]:
    return await Notification.find({"recipient_id": user_id}).sort("updated_key").to_list()


async def types_of(user_id: str) -> list[str]:
    return [n.type for n in await received(user_id)]
