"""Starting conversations from the platform's side (who may talk to whom); the rest is shared_models.services.conversations."""

from datetime import datetime

from platform_api.bookings.errors import UnknownRequest
from platform_api.bookings.service import Actor, booking_service
from platform_api.errors import ValidationFailed
from platform_api.outbox.service import outbox_service
from platform_api.providers.errors import UnknownProvider
from platform_api.providers.service import provider_service
from platform_api.realtime import RealtimeClient
from shared_models.documents import Conversation, DomainEvent, User
from shared_models.enums import Role
from shared_models.services import conversations

BLOCK_CHANGED = "conversation.block_changed"  # for the relay: tell the chat server (it was not reachable)


class ConversationService:
    async def start(
        self, user: User, provider_id: str | None, request_id: str | None, now: datetime
    ) -> tuple[Conversation, bool]:
        conversation, created = await self._start(user, provider_id, request_id, now)
        if created:
            # For the other party's `conversation_started` notification (the relay takes it from here).
            side = conversations.sides(conversation, str(user.id))
            assert side is not None
            event = DomainEvent(
                id=f"conversation:{conversation.id}:started",
                type="conversation.started",
                occurred_at=now,
                payload={
                    "conversation_id": str(conversation.id),
                    "sender_id": side.me,
                    "recipient_id": side.other,
                },
            )
            await outbox_service.append([("conversation", str(conversation.id), event)], now)
        return conversation, created

    async def _start(
        self, user: User, provider_id: str | None, request_id: str | None, now: datetime
    ) -> tuple[Conversation, bool]:
        if request_id is not None:
            request = await booking_service.get_for_party(request_id, Actor.of(user))
            if request is None:
                raise UnknownRequest("No such request of yours.", field="request_id")
            return await conversations.start(
                request.customer_id, request.provider_user_id, request.provider_id, request_id, now
            )
        if user.role is not Role.customer:
            raise ValidationFailed("Providers start a conversation from a request.", field="request_id")
        if provider_id is None:
            raise ValidationFailed("Name the provider to talk to.", field="provider_id")
        profile = await provider_service.get(provider_id)
        if profile is None:
            raise UnknownProvider(field="provider_id")
        return await conversations.start(str(user.id), profile.owner_id, str(profile.id), None, now)

    async def set_blocked(
        self, conversation: Conversation, user_id: str, blocked: bool, realtime: RealtimeClient, now: datetime
    ) -> Conversation:
        """Block or unblock the other participant. The chat server is told before this returns, so no
        message or typing sent after the caller has the answer passes (on any instance, with Redis: the
        generation is bumped there). If the chat server cannot be reached now, the relay tells it later (an
        outbox event), so what each side was shown of the other is still withdrawn, or shown again."""
        conversation = await conversations.set_blocked(conversation, user_id, blocked)
        if not await realtime.conversation_changed(str(conversation.id)):
            event = DomainEvent(
                type=BLOCK_CHANGED, occurred_at=now, payload={"conversation_id": str(conversation.id)}
            )
            await outbox_service.append([("conversation", str(conversation.id), event)], now)
        return conversation


conversation_service = ConversationService()
