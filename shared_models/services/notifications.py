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
- the email window is claimed by one atomic upsert per collapse key (`store.claim_window`): at most one email
  per collapse key per window, whoever sends;
- exactly once per (source event, recipient): a claim naming the target notification is written first
  (unique key), then the effect, which is idempotent given the target. The claim is held by the delivery
  that wrote it for `CLAIM_LEASE`: a concurrent delivery of the same source (a resend through another
  instance) leaves it to that one, since a notification keeps only its last `SOURCES_KEPT` source ids and
  could not tell a source folded a moment ago. A delivery that fails gives its claims back; a retry after
  a crash takes the claim over once the lease has passed and finishes the same effect, never a second one.
"""

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from shared_models import store
from shared_models.clock import json_time
from shared_models.documents import (
    EmailMessage,
    EmailWindow,
    Notification,
    NotificationClaim,
    NotificationDelivery,
    NotificationPreferences,
    User,
)
from shared_models.ids import sortable_key, time_key
from shared_models.notifications import CATALOGUE, Channel, NotificationType

log = structlog.get_logger(__name__)
SOURCES_KEPT = 50
CAS_ATTEMPTS = 64  # each failed attempt means another writer succeeded: lock-free, not unbounded
# How long a delivery holds the claims it wrote: far above a fold's few round trips (milliseconds), short
# enough that a source whose delivery crashed is counted on the next retry after it.
CLAIM_LEASE = timedelta(seconds=60)


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
    """Notify `recipient_id` of one source event (see the module's docstring)."""
    return await notify_many(kind, recipient_id, [(source_id, payload)], presence, now)


Source = tuple[str, Mapping[str, Any]]  # (source event id, its payload)
Item = tuple[str, dict[str, Any]]  # a source with its payload validated against the type


def _claim_key(source_id: str, recipient_id: str) -> str:
    """The claim's unique key: one effect per (source event, recipient)."""
    return f"{source_id}:{recipient_id}"


async def notify_many(
    kind: NotificationType,
    recipient_id: str,
    sources: Sequence[Source],
    presence: Presence,
    now: datetime,
) -> Outcome:
    """`notify` for several source events of one recipient, in their order, in a few writes whatever their
    number (a burst of messages): the claims in one insert, the fold in one compare-and-set, one email
    decision. Sources whose collapse keys differ are folded one collapse key at a time."""
    items = [(source_id, kind.payload.model_validate(p).model_dump(mode="json")) for source_id, p in sources]
    if presence.engaged:
        # One write: the claims (so a retry skips too). No delivery-log entry: nothing was attempted, and
        # the claims themselves record the skip.
        await store.insert_new(
            NotificationClaim,
            [_claim(_claim_key(source_id, recipient_id), None, now, applied=True) for source_id, _ in items],
        )
        return Outcome(None, realtime=False, emailed=False, reason="engaged")
    realtime_ok, email_ok = await _allowed(kind, recipient_id)
    last: Notification | None = None
    added = 0
    created = False
    emailed = False
    for collapse_key, group in _by_collapse_key(kind, recipient_id, items):
        folded, count = await _notify_group(kind, recipient_id, group, collapse_key, now)
        if folded is None or not count:
            continue
        last, added, created = folded, added + count, folded.occurrences == count
        await log_delivery(
            folded, recipient_id, kind.key, Channel.in_app, "stored", now, f"count {folded.occurrences}"
        )
        if email_ok and not presence.online and await _email_window(kind, collapse_key, now):
            await _queue_email(folded, recipient_id, now)
            emailed = True
    if last is None:
        return Outcome(None, realtime=False, emailed=False, reason="duplicate")
    return Outcome(
        last,
        realtime=presence.online and realtime_ok,
        emailed=emailed,
        reason="stored" if created else "collapsed",
    )


def _by_collapse_key(
    kind: NotificationType, recipient_id: str, items: list[Item]
) -> list[tuple[str | None, list[Item]]]:
    """Items grouped by collapse key, in order of first appearance (no key: each on its own)."""
    groups: dict[str, list[Item]] = {}
    ordered: list[tuple[str | None, list[Item]]] = []
    for item in items:
        key = f"{kind.key}:{recipient_id}:{item[1][kind.collapse_by]}" if kind.collapse_by else None
        if key is None:
            ordered.append((None, [item]))
        elif key in groups:
            groups[key].append(item)
        else:
            groups[key] = [item]
            ordered.append((key, groups[key]))
    return ordered


def _claim(key: str, notification_id: str | None, now: datetime, applied: bool = False) -> dict[str, Any]:
    claim = NotificationClaim(
        key=key,
        notification_id=notification_id,
        applied=applied,
        held_until_key="" if applied else time_key(now + CLAIM_LEASE),
        created_at=now,
    )
    record: dict[str, Any] = claim.model_dump(by_alias=True, exclude={"id", "revision_id"})
    return record


async def _notify_group(
    kind: NotificationType,
    recipient_id: str,
    group: list[Item],
    collapse_key: str | None,
    now: datetime,
) -> tuple[Notification | None, int]:
    """Fold the group's sources into the notification of their collapse key: (it, how many were new).

    Only the delivery holding a source's claim folds it: the one that wrote the claim, or a retry that took
    it over from a delivery that gave it back or whose lease passed. Claims held by a delivery still in
    flight are its to fold (counted there, once). A failure gives this call's claims back."""
    keys = [_claim_key(source_id, recipient_id) for source_id, _ in group]
    holder = await _open(collapse_key) if collapse_key else None
    target = str(holder.id) if holder is not None and _absorbs(holder, now) else str(ObjectId())
    fresh = await _claim_new(keys, target, now)
    held = [k for k in keys if k in fresh]
    doc: Notification | None = None
    added = 0
    try:
        # Sources claimed before (a retry, or a delivery of the same source in flight): each its own way.
        for key, item in ((k, it) for k, it in zip(keys, group, strict=True) if k not in fresh):
            claim = await _take_over(key, now)
            if claim is None or claim.notification_id is None:
                continue
            held.append(key)
            doc, count = await _fold(
                kind, [key], claim.notification_id, recipient_id, [item], collapse_key, now
            )
            added += count
        claimed = [(k, it) for k, it in zip(keys, group, strict=True) if k in fresh]
        if claimed:
            doc, count = await _fold(
                kind,
                [k for k, _ in claimed],
                target,
                recipient_id,
                [it for _, it in claimed],
                collapse_key,
                now,
            )
            added += count
    except Exception:
        await _give_back(held)
        raise
    if doc is None and holder is not None:
        doc = holder
    return doc, added


async def _take_over(key: str, now: datetime) -> NotificationClaim | None:
    """The claim of a source claimed before, now held by this delivery; None when its effect is done or
    another delivery holds it (in flight: that one counts it)."""
    taken = await store.update_if(
        NotificationClaim,
        {"key": key, "applied": False, "held_until_key": {"$lt": time_key(now)}},
        {"$set": {"held_until_key": time_key(now + CLAIM_LEASE)}},
    )
    return NotificationClaim.model_validate(taken) if taken is not None else None


async def _give_back(claim_keys: list[str]) -> None:
    """Free the claims this delivery holds and has not applied: a retry may take them at once."""
    await store.update_each(
        NotificationClaim,
        [({"key": key, "applied": False}, {"$set": {"held_until_key": ""}}) for key in claim_keys],
    )


async def _claim_new(keys: list[str], target: str, now: datetime) -> set[str]:
    """Claim the sources for `target` in one unordered insert; the keys this call claimed (the others were
    claimed before: a retry, or a concurrent delivery of the same source)."""
    new = await store.insert_new(NotificationClaim, [_claim(key, target, now) for key in keys])
    return {keys[i] for i in new}


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


async def _retarget(claim_keys: list[str], old: str, new: str) -> list[str]:
    """Point the claims from `old` to `new` (compare-and-set each); returns the keys now pointing at `new`
    (a claim another delivery moved first is its to finish)."""
    kept = []
    for key in claim_keys:
        moved = await store.update_one(
            NotificationClaim, {"key": key, "notification_id": old}, {"$set": {"notification_id": new}}
        )
        if moved.modified:
            kept.append(key)
    return kept


async def _close(notification: Notification) -> None:
    """Free the collapse key's slot held by a notification that no longer absorbs (read, or out of window)."""
    closed = notification.model_copy(update={"open_key": None, "version": notification.version + 1})
    await store.replace_if({"_id": notification.id, "version": notification.version}, closed)


async def _fold(
    kind: NotificationType,
    claim_keys: list[str],
    target: str,
    recipient_id: str,
    items: list[Item],
    collapse_key: str | None,
    now: datetime,
) -> tuple[Notification | None, int]:
    """Fold the sources (in order) into the notification their claims name, creating it if absent; then
    mark their claims applied. Returns (the notification, how many sources this call added). Idempotent,
    and atomic under any concurrency: the open slot of a collapse key is one unique key, so concurrent
    sources all end up in the one notification that holds it, each counted once (compare-and-set on its
    version; a claim marked applied is never counted again, however long ago)."""
    keyed = dict(zip(claim_keys, items, strict=True))
    current: Notification | None = None
    for _ in range(CAS_ATTEMPTS):
        if not keyed:
            return current, 0
        oid = ObjectId(target)
        current = await Notification.get(oid)
        todo = [it for it in keyed.values() if current is None or it[0] not in current.source_ids]
        if current is None:
            doc = _new_notification(kind, oid, recipient_id, todo, collapse_key, now)
            try:
                await doc.insert()
            except DuplicateKeyError:
                if collapse_key is not None and await Notification.get(oid) is None:
                    # Another notification holds the open slot: go into it, or free it if it is stale.
                    holder = await _open(collapse_key)
                    if holder is not None and _absorbs(holder, now):
                        keyed = {k: keyed[k] for k in await _retarget(list(keyed), target, str(holder.id))}
                        target = str(holder.id)
                    elif holder is not None:
                        await _close(holder)
                continue
            await _applied(list(keyed))
            return doc, len(todo)
        if not todo:
            await _applied(list(keyed))
            return current, 0
        if collapse_key is not None and not _absorbs(current, now):
            if current.open_key is not None:
                await _close(current)
            new = str(ObjectId())
            keyed = {k: keyed[k] for k in await _retarget(list(keyed), target, new)}
            target = new
            continue
        last = todo[-1][1]
        after = current.model_copy(
            update={
                "occurrences": current.occurrences + len(todo),
                "body": _body(kind, last),
                "data": last,
                "source_ids": [*current.source_ids, *(source_id for source_id, _ in todo)][-SOURCES_KEPT:],
                "version": current.version + 1,
                "updated_at": now,
                "updated_key": sortable_key(now, oid),
                "unread_key": "1" + sortable_key(now, oid),
            }
        )
        if await store.replace_if({"_id": oid, "version": current.version}, after) is not None:
            await _applied(list(keyed))
            return after, len(todo)
    raise RuntimeError(f"notification {target} kept changing; the caller retries")


def _new_notification(
    kind: NotificationType,
    oid: ObjectId,
    recipient_id: str,
    items: list[Item],
    collapse_key: str | None,
    now: datetime,
) -> Notification:
    last = items[-1][1]
    return Notification(
        id=oid,
        recipient_id=recipient_id,
        type=kind.key,
        title=kind.title,
        body=_body(kind, last),
        data=last,
        occurrences=len(items),
        source_ids=[source_id for source_id, _ in items][-SOURCES_KEPT:],
        collapse_key=collapse_key,
        window_until=now + kind.dedup_window if collapse_key else None,
        open_key=collapse_key,
        created_at=now,
        updated_at=now,
        updated_key=sortable_key(now, oid),
        unread_key="1" + sortable_key(now, oid),
    )


async def _applied(claim_keys: list[str]) -> None:
    """Mark the claims' effect done (one bulk write): a later delivery of these sources changes nothing."""
    await store.update_each(
        NotificationClaim, [({"key": key}, {"$set": {"applied": True}}) for key in claim_keys]
    )


async def _email_window(kind: NotificationType, collapse_key: str | None, now: datetime) -> bool:
    """Whether this notification may be emailed now: at most one email per collapse key per email window,
    claimed atomically (also across processes)."""
    if collapse_key is None or not kind.email_window:
        return True
    return await store.claim_window(
        EmailWindow, collapse_key, time_key(now), time_key(now + kind.email_window)
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


async def queue_mail(
    key: str, to: str, subject: str, template: str, context: dict[str, Any], now: datetime, **fields: Any
) -> bool:
    """Queue a templated message, due now, for the platform's mail job: the one way both services add to
    `email_outbox`. False if one with this key was queued before (never mailed twice for the same key)."""
    with contextlib.suppress(DuplicateKeyError):
        await EmailMessage(
            key=key,
            to=to,
            subject=subject,
            template=template,
            context=context,
            next_attempt_key=time_key(now),
            created_at=now,
            **fields,
        ).insert()
        return True
    return False
