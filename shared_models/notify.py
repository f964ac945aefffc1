"""The one creation path for notifications, used by the platform (domain events from the outbox) and by
the chat server (new messages) alike.

`notify` decides, from the recipient's presence the caller observed, what happens:
- engaged (looking at that conversation) → nothing is stored: they see it live;
- connected but elsewhere → stored, and the caller pushes `notification:new` (`Outcome.realtime`);
- offline → stored, and an email is queued if the type and the user's preferences allow.
Repeats within the type's dedup window collapse into the open (unread) notification: count + 1, latest
preview. Email has its own, longer window, so a burst yields one email.

Atomic under any concurrency (two chat-server processes, two devices, the platform's relay), without
transactions:
- a collapse key's open slot is one unique key (`open_key`): however many deliveries race, one notification
  holds it and every other folds into that one, each source counted once (compare-and-set on its version);
- the email window is claimed by one atomic upsert per collapse key (`cas.claim_window`): at most one email
  per collapse key per window, whoever sends;
- exactly once per (source event, recipient): a claim naming the target notification is written first
  (unique key), then the effect, which is idempotent given the target. A retry after a crash at any point
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

from shared_models.cas import claim_window, replace_if
from shared_models.clock import json_time
from shared_models.documents import (
    EmailWindow,
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
CAS_ATTEMPTS = 64  # each failed attempt means another writer succeeded: lock-free, not unbounded


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
        "createdAt": json_time(notification.created_at),
        "updatedAt": json_time(notification.updated_at),
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
        # One write: the claim (so a retry skips too). No delivery-log entry: nothing was attempted, and the
        # claim itself records the skip.
        with contextlib.suppress(DuplicateKeyError):
            await NotificationClaim(key=claim_key, notification_id=None, created_at=now).insert()
        return Outcome(None, realtime=False, emailed=False, reason="engaged")
    collapse_key = f"{kind.key}:{recipient_id}:{data[kind.collapse_by]}" if kind.collapse_by else None
    claim = await NotificationClaim.find_one(NotificationClaim.key == claim_key)
    target = claim.notification_id if claim is not None else await _claim_target(claim_key, collapse_key, now)
    if target is None:
        return Outcome(None, realtime=False, emailed=False, reason="duplicate")
    realtime_ok, email_ok = await _allowed(kind, recipient_id)
    doc, changed = await _fold(kind, claim_key, target, recipient_id, source_id, data, collapse_key, now)
    emailed = changed and email_ok and not presence.online and await _email_window(kind, collapse_key, now)
    if changed:
        await log_delivery(
            doc, recipient_id, kind.key, Channel.in_app, "stored", now, f"count {doc.occurrences}"
        )
    if emailed:
        await _queue_email(doc, recipient_id, now)
    reason = "duplicate" if not changed else ("collapsed" if doc.occurrences > 1 else "stored")
    return Outcome(doc, realtime=presence.online and realtime_ok, emailed=emailed, reason=reason)


def _absorbs(notification: Notification, now: datetime) -> bool:
    """Still open for repeats: unread and inside its window."""
    return (
        notification.open_key is not None
        and not notification.read
        and notification.window_until is not None
        and notification.window_until > now
    )


async def _open(collapse_key: str) -> Notification | None:
    """The notification holding the collapse key's open slot, if any (unique, index-served)."""
    return await Notification.find_one({"open_key": collapse_key})


async def _claim_target(claim_key: str, collapse_key: str | None, now: datetime) -> str | None:
    """Write the claim naming the notification this source goes into (the open one, or a new id); a
    concurrent delivery of the same source wins the unique key and we follow its claim (None: skipped)."""
    holder = await _open(collapse_key) if collapse_key else None
    target = str(holder.id) if holder is not None and _absorbs(holder, now) else str(ObjectId())
    try:
        await NotificationClaim(key=claim_key, notification_id=target, created_at=now).insert()
    except DuplicateKeyError:
        claim = await NotificationClaim.find_one(NotificationClaim.key == claim_key)
        return claim.notification_id if claim is not None else None
    return target


async def _retarget(claim_key: str, old: str, new: str) -> str:
    """Point the claim from `old` to `new` (compare-and-set); whoever moved it first decides where it goes."""
    collection = NotificationClaim.get_pymongo_collection()
    moved = await collection.update_one(
        {"key": claim_key, "notification_id": old}, {"$set": {"notification_id": new}}
    )
    if moved.modified_count:
        return new
    claim = await NotificationClaim.find_one(NotificationClaim.key == claim_key)
    return claim.notification_id if claim is not None and claim.notification_id else new


async def _close(notification: Notification) -> None:
    """Free the collapse key's slot held by a notification that no longer absorbs (read, or out of window)."""
    closed = notification.model_copy(update={"open_key": None, "version": notification.version + 1})
    await replace_if({"_id": notification.id, "version": notification.version}, closed)


async def _fold(
    kind: NotificationType,
    claim_key: str,
    target: str,
    recipient_id: str,
    source_id: str,
    data: dict[str, Any],
    collapse_key: str | None,
    now: datetime,
) -> tuple[Notification, bool]:
    """Fold the source into the notification its claim names, creating it if absent. Returns (the
    notification, whether this call changed it). Idempotent, and atomic under any concurrency: the open
    slot of a collapse key is one unique key, so concurrent sources all end up in the one notification that
    holds it, each counted once (compare-and-set on its version)."""
    for _ in range(CAS_ATTEMPTS):
        oid = ObjectId(target)
        current = await Notification.get(oid)
        if current is None:
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
                open_key=collapse_key,
                created_at=now,
                updated_at=now,
                updated_key=sortable_key(now, oid),
                unread_key="1" + sortable_key(now, oid),
            )
            try:
                await doc.insert()
            except DuplicateKeyError:
                if collapse_key is not None and await Notification.get(oid) is None:
                    # Another notification holds the open slot: go into it, or free it if it is stale.
                    holder = await _open(collapse_key)
                    if holder is not None and _absorbs(holder, now):
                        target = await _retarget(claim_key, target, str(holder.id))
                    elif holder is not None:
                        await _close(holder)
                continue
            return doc, True
        if source_id in current.source_ids:
            return current, False
        if collapse_key is not None and not _absorbs(current, now):
            if current.open_key is not None:
                await _close(current)
            target = await _retarget(claim_key, target, str(ObjectId()))
            continue
        after = current.model_copy(
            update={
                "occurrences": current.occurrences + 1,
                "body": _body(kind, data),
                "data": data,
                "source_ids": [*current.source_ids, source_id][-SOURCES_KEPT:],
                "version": current.version + 1,
                "updated_at": now,
                "updated_key": sortable_key(now, oid),
                "unread_key": "1" + sortable_key(now, oid),
            }
        )
        if await replace_if({"_id": oid, "version": current.version}, after) is not None:
            return after, True
    raise RuntimeError(f"notification {target} kept changing; the caller retries")


async def _email_window(kind: NotificationType, collapse_key: str | None, now: datetime) -> bool:
    """Whether this notification may be emailed now: at most one email per collapse key per email window,
    claimed atomically (also across processes)."""
    if collapse_key is None or not kind.email_window:
        return True
    return await claim_window(
        EmailWindow.get_pymongo_collection(), collapse_key, time_key(now), time_key(now + kind.email_window)
    )


async def _queue_email(notification: Notification, recipient_id: str, now: datetime) -> None:
    user = await User.get(ObjectId(recipient_id))
    if user is None:
        return
    queued = await queue_mail(  # one email per notification and count: a retry queues nothing twice
        f"notification:{notification.id}:{notification.occurrences}",
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
