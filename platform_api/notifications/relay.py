"""The outbox relay: domain events → notifications (the one creation path) → the chat server's sockets.

Events are taken in order of occurrence. For each, the catalogue names the (type, recipient) pairs; the
chat server says who is online and who is looking at the conversation between the parties; `notify`
stores (or skips, or collapses) and queues mail; the pushes go to the chat server, which shows each delivery
once. Only then is the event marked dispatched. If the chat server does not answer, nothing is marked:
the relay backs off (1 s, 2 s, 4 s … 60 s) and the events wait — none lost, none doubled.
"""

import time
from typing import Any

import structlog

from platform_api.conversations.service import BLOCK_CHANGED
from platform_api.outbox.service import outbox_service
from platform_api.realtime import ChatUnavailable, RealtimeClient
from shared_models.clock import Clock
from shared_models.documents import Conversation, OutboxEvent
from shared_models.notifications import Channel, for_event
from shared_models.services.notifications import log_delivery, notify, realtime_payload

log = structlog.get_logger(__name__)
MAX_BACKOFF_SECONDS = 60.0


class NotificationRelay:
    def __init__(self, realtime: RealtimeClient, clock: Clock) -> None:
        self.realtime = realtime
        self.clock = clock
        self.failures = 0
        self.resume_at = 0.0

    async def drain(self, batch: int = 200) -> int:
        """Dispatch every waiting event; returns how many. While backing off after a failure, does nothing."""
        if time.monotonic() < self.resume_at:
            return 0
        done = 0
        try:
            while True:
                events = (
                    await OutboxEvent.find({"dispatched_at": None}).sort("occurred_at").limit(batch).to_list()
                )
                for event in events:
                    await self.dispatch(event)
                    done += 1
                if len(events) < batch:
                    break
        except ChatUnavailable as exc:
            self.failures += 1
            delay = min(2.0 ** (self.failures - 1), MAX_BACKOFF_SECONDS)
            self.resume_at = time.monotonic() + delay
            log.warning("notifications.relay_waiting", error=str(exc), retry_in=delay, dispatched=done)
            return done
        self.failures = 0
        return done

    async def dispatch(self, event: OutboxEvent) -> None:
        if event.type == BLOCK_CHANGED:  # not a notification: the chat server must hear of a block
            await self.realtime.tell_conversation_changed(str(event.payload["conversation_id"]))
            await outbox_service.mark_dispatched(event, self.clock.now())
            return
        pairs = for_event(event.type, event.payload)
        now = self.clock.now()
        if pairs:
            conversation_id = await self._conversation_of(event.payload)
            presences = await self.realtime.presence([(recipient, conversation_id) for _, recipient in pairs])
            pushes: list[tuple[Any, str, dict[str, Any]]] = []
            for (kind, recipient), presence in zip(pairs, presences, strict=True):
                outcome = await notify(kind, recipient, event.event_id, event.payload, presence, now)
                if outcome.realtime and outcome.notification is not None:
                    pushes.append((outcome, recipient, realtime_payload(outcome.notification)))
            if pushes:
                await self.realtime.push_notifications(
                    [
                        {"deliveryId": o.delivery_id, "userId": r, "notification": data}
                        for o, r, data in pushes
                    ]
                )
                for outcome, recipient, _ in pushes:
                    n = outcome.notification
                    await log_delivery(n, recipient, n.type, Channel.realtime, "sent", now)
        await outbox_service.mark_dispatched(event, now)

    async def _conversation_of(self, payload: dict[str, Any]) -> str | None:
        """What "looking at it" means for this event: its conversation, or the parties' conversation."""
        if payload.get("conversation_id"):
            return str(payload["conversation_id"])
        if payload.get("customer_id") and payload.get("provider_user_id"):
            pair = f"{payload['customer_id']}:{payload['provider_user_id']}"
            conversation = await Conversation.find_one(Conversation.pair_key == pair)
            return str(conversation.id) if conversation else None
        return None
