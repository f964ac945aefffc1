"""The one creation path for notifications, used by the platform (domain events from the outbox) and by
the chat server (new messages) alike.

`notify` decides, from the recipient's presence the caller observed, what happens:
- engaged (looking at that conversation) → nothing is stored: they see it live;
- connected but elsewhere → stored, and the caller pushes `notification:new` (`Outcome.realtime`);
- offline → stored, and an email is queued if the type and the user's preferences allow.
Repeats within the type's dedup window collapse into the open (unread) notification: count + 1, latest
preview. Email has its own, longer window, so a burst yields one email.

Exactly once per (source event, recipient), without transactions: a claim naming the target notification
is written first (unique key), then the effect, which is idempotent given the target (insert it, or add the
source to it by compare-and-set, skipping a source already in it). A retry after a crash at any point
finishes the same effect; it never makes a second one.
"""

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from shared_models.cas import replace_if
from shared_models.documents import (
    Notification,
    NotificationClaim,
    NotificationDelivery,
    NotificationPreferences,
    User,
)
from shared_models.ids import sortable_key, time_key
from shared_models.mail import queue_mail
from shared_models.notifications import CATALOGUE, Channel, NotificationType

log = structlog.get_logger(__name__)
SOURCES_KEPT = 50
CAS_ATTEMPTS = 8


@dataclass(frozen=True)
class Presence:
    online: bool  # any socket connected
    engaged: bool  # a socket joined the conversation the notification is about


@dataclass(frozen=True)
class Outcome:
    notification: Notification | None
    realtime: bool  # the caller should push `notification:new` (idempotent by `delivery_id`)
    emailed: bool
    reason: str  # stored | collapsed | engaged | duplicate

    @property
    def delivery_id(self) -> str | None:
        n = self.notification
        return f"{n.id}:{n.version}" if n is not None else None


def realtime_payload(notification: Notification) -> dict[str, Any]:
    """The `notification:new` event's data (see chat_server/PROTOCOL.md)."""
    return {
        "id": str(notification.id),
        "type": notification.type,
        "title": notification.title,
        "body": notification.body,
        "count": notification.occurrences,
        "payload": notification.data,
        "createdAt": notification.created_at.isoformat(),
        "updatedAt": notification.updated_at.isoformat(),
    }


def _body(kind: NotificationType, data: Mapping[str, Any]) -> str:
    preview = data.get("preview")
    return str(preview) if preview else kind.title


async def _allowed(kind: NotificationType, recipient_id: str) -> tuple[bool, bool]:
    """(realtime, email) as the type's channels and the user's preferences allow."""
    prefs = await NotificationPreferences.find_one(NotificationPreferences.user_id == recipient_id)
    off = set(prefs.disabled) if prefs else set()
    realtime = Channel.realtime in kind.channels and f"{kind.key}:realtime" not in off
    email = Channel.email in kind.channels and (kind.mandatory or f"{kind.key}:email" not in off)
    return realtime, email


async def log_delivery(
    notification: Notification | None, recipient_id: str, kind: str, channel: str, status: str, now: datetime,
    detail: str | None = None,
) -> None:  # fmt: skip
    await NotificationDelivery(
        notification_id=str(notification.id) if notification else None,
        recipient_id=recipient_id,
        type=kind,
        channel=channel,
        status=status,
        detail=detail,
        at=now,
        at_key=time_key(now),
    ).insert()


async def notify(
    kind: NotificationType,
    recipient_id: str,
    source_id: str,
    payload: Mapping[str, Any],
    presence: Presence,
    now: datetime,
) -> Outcome:
    data = kind.payload.model_validate(payload).model_dump(mode="json")
    claim_key = f"{source_id}:{recipient_id}"
    if presence.engaged:
        # One write, on the hot path of every message read live: the claim (so a retry skips too). No
        # delivery-log entry: nothing was attempted, and the claim itself records the skip.
        with contextlib.suppress(DuplicateKeyError):
            await NotificationClaim(key=claim_key, notification_id=None, created_at=now).insert()
        return Outcome(None, realtime=False, emailed=False, reason="engaged")
    collapse_key = f"{kind.key}:{recipient_id}:{data[kind.collapse_by]}" if kind.collapse_by else None
    claim = await NotificationClaim.find_one(NotificationClaim.key == claim_key)
    if claim is None:
        open_one = await _open(collapse_key, now) if collapse_key else None
        target = str(open_one.id) if open_one else str(ObjectId())
        try:
            await NotificationClaim(key=claim_key, notification_id=target, created_at=now).insert()
        except DuplicateKeyError:  # a concurrent delivery of the same event claimed it: follow that claim
            claim = await NotificationClaim.find_one(NotificationClaim.key == claim_key)
    if claim is not None:
        if claim.notification_id is None:
            return Outcome(None, realtime=False, emailed=False, reason="duplicate")
        target = claim.notification_id
    realtime_ok, email_ok = await _allowed(kind, recipient_id)
    doc, changed, emailed = await _apply(
        kind, target, recipient_id, source_id, data, collapse_key, now, email_ok and not presence.online
    )
    if changed:
        await log_delivery(
            doc, recipient_id, kind.key, Channel.in_app, "stored", now, f"count {doc.occurrences}"
        )
    if emailed:
        await _queue_email(doc, recipient_id, now)
    reason = "duplicate" if not changed else ("collapsed" if doc.occurrences > 1 else "stored")
    return Outcome(doc, realtime=presence.online and realtime_ok, emailed=emailed, reason=reason)


async def _open(collapse_key: str, now: datetime) -> Notification | None:
    """The unread notification still absorbing repeats of this key, if any (index-served)."""
    return await Notification.find_one(
        {"collapse_key": collapse_key, "read": False, "window_until": {"$gt": now}}
    )


async def _apply(
    kind: NotificationType,
    target: str,
    recipient_id: str,
    source_id: str,
    data: dict[str, Any],
    collapse_key: str | None,
    now: datetime,
    may_email: bool,
) -> tuple[Notification, bool, bool]:
    """Fold the source into the target notification (create it if absent). Returns (the notification,
    whether this call changed it, whether it is to be emailed now). Idempotent."""
    oid = ObjectId(target)
    for _ in range(CAS_ATTEMPTS):
        current = await Notification.get(oid)
        if current is None:
            email = may_email and not await _emailed_recently(kind, collapse_key, now)
            doc = Notification(
                id=oid,
                recipient_id=recipient_id,
                type=kind.key,
                title=kind.title,
                body=_body(kind, data),
                data=data,
                source_ids=[source_id],
                collapse_key=collapse_key,
                window_until=now + kind.dedup_window if collapse_key else None,
                emailed_at=now if email else None,
                created_at=now,
                updated_at=now,
                updated_key=sortable_key(now, oid),
                unread_key="1" + sortable_key(now, oid),
            )
            try:
                await doc.insert()
            except DuplicateKeyError:
                continue
            return doc, True, email
        if source_id in current.source_ids:
            return current, False, False
        email = may_email and (current.emailed_at is None or now - current.emailed_at >= kind.email_window)
        after = current.model_copy(
            update={
                "occurrences": current.occurrences + 1,
                "body": _body(kind, data),
                "data": data,
                "source_ids": [*current.source_ids, source_id][-SOURCES_KEPT:],
                "read": False,
                "read_at": None,
                "emailed_at": now if email else current.emailed_at,
                "version": current.version + 1,
                "updated_at": now,
                "updated_key": sortable_key(now, oid),
                "unread_key": "1" + sortable_key(now, oid),
            }
        )
        replaced = await replace_if({"_id": oid, "version": current.version}, after)
        if replaced is not None:
            return after, True, email
    raise RuntimeError(f"notification {target} kept changing; the caller retries")


async def _emailed_recently(kind: NotificationType, collapse_key: str | None, now: datetime) -> bool:
    if collapse_key is None or not kind.email_window:
        return False
    recent = await Notification.find_one(
        {"collapse_key": collapse_key, "emailed_at": {"$gte": now - kind.email_window}}
    )
    return recent is not None


async def _queue_email(notification: Notification, recipient_id: str, now: datetime) -> None:
    user = await User.get(ObjectId(recipient_id))
    if user is None:
        return
    queued = await queue_mail(  # one email per notification, ever
        f"notification:{notification.id}",
        user.email,
        notification.title,
        "notification",
        {
            "title": notification.title,
            "body": notification.body,
            "count": notification.occurrences,
            "type": notification.type,
        },
        now,
        user_id=recipient_id,
        category="notification",
        unsubscribe_scope=None if CATALOGUE[notification.type].mandatory else f"type:{notification.type}",
        notification_id=str(notification.id),
    )
    if queued:
        await log_delivery(notification, recipient_id, notification.type, Channel.email, "queued", now)
