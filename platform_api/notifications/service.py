"""The user's notifications: list, unread count, read, preferences. Creation is `shared_models.services.notifications`."""

from datetime import datetime

from pymongo.errors import DuplicateKeyError

from platform_api.errors import ConcurrentUpdate, ValidationFailed
from platform_api.notifications.errors import MandatoryType
from shared_models import store
from shared_models.documents import Notification, NotificationDelivery, NotificationPreferences
from shared_models.ids import parse_object_id
from shared_models.notifications import CATALOGUE, Channel

ADJUSTABLE = (Channel.realtime, Channel.email)  # in-app is the record itself: always kept
CAS_ATTEMPTS = 5


class NotificationService:
    async def page(
        self, user_id: str, unread_first: bool, unread_only: bool, cursor: str | None, limit: int
    ) -> tuple[list[Notification], str | None]:
        key = "unread_key" if unread_first else "updated_key"
        query: dict[str, object] = {"recipient_id": user_id}
        if unread_only:
            query["read"] = False
        if cursor is not None:
            query[key] = {"$lt": cursor}
        items = await Notification.find(query).sort(f"-{key}").limit(limit + 1).to_list()
        next_cursor = getattr(items[limit - 1], key) if len(items) > limit else None
        return items[:limit], next_cursor

    async def unread_count(self, user_id: str) -> int:
        return await store.count(Notification, {"recipient_id": user_id, "read": False})

    async def get(self, user_id: str, notification_id: str) -> Notification | None:
        oid = parse_object_id(notification_id)
        found = await Notification.get(oid) if oid else None
        return found if found is not None and found.recipient_id == user_id else None

    async def mark_read(self, notification: Notification, now: datetime) -> Notification:
        for _ in range(CAS_ATTEMPTS):
            if notification.read:
                return notification
            after: Notification = notification.model_copy(
                update={
                    "read": True,
                    "read_at": now,
                    "open_key": None,  # a read notification absorbs no more repeats: free its slot
                    "version": notification.version + 1,
                    "unread_key": "0" + notification.updated_key,
                }
            )
            replaced = await store.replace_if(
                {"_id": notification.id, "version": notification.version}, after
            )
            if replaced is not None:
                return after
            fresh = await Notification.get(notification.id)
            if fresh is None:
                break
            notification = fresh
        raise ConcurrentUpdate("The notification changed meanwhile; retry.")

    async def mark_all_read(self, user_id: str, now: datetime) -> int:
        unread = await Notification.find({"recipient_id": user_id, "read": False}).to_list()
        for notification in unread:
            await self.mark_read(notification, now)
        return len(unread)

    async def deliveries(self, notification_id: str) -> list[NotificationDelivery]:
        return await NotificationDelivery.find({"notification_id": notification_id}).sort("at_key").to_list()

    async def preferences(self, user_id: str) -> set[str]:
        prefs = await NotificationPreferences.find_one(NotificationPreferences.user_id == user_id)
        return set(prefs.disabled) if prefs else set()

    async def set_preferences(self, user_id: str, disabled: set[str]) -> set[str]:
        for pair in disabled:
            kind, _, channel = pair.partition(":")
            if kind not in CATALOGUE or channel not in {c.value for c in ADJUSTABLE}:
                raise ValidationFailed(f"Unknown type or channel: {pair}.", field="disabled")
            if channel == Channel.email and CATALOGUE[kind].mandatory:
                raise MandatoryType(f"{kind} email cannot be turned off.", field="disabled")
        wanted = sorted(disabled)
        mine, update = {"user_id": user_id}, {"$set": {"disabled": wanted}}
        if not (await store.update_one(NotificationPreferences, mine, update)).matched:
            try:
                await NotificationPreferences(user_id=user_id, disabled=wanted).insert()
            except DuplicateKeyError:  # created concurrently: set ours on it
                await store.update_one(NotificationPreferences, mine, update)
        return set(wanted)


notification_service = NotificationService()
