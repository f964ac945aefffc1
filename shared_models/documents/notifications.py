"""Notifications: what each user was told, how (the delivery log), their preferences, and mail to send."""

from datetime import datetime
from typing import Annotated, Any

from beanie import Document, Indexed
from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from shared_models.ids import Ref


class Notification(Document):
    """One in-app notification; repeats within its type's window collapse into it (count, latest preview)."""

    recipient_id: Ref
    type: str
    title: str
    body: str
    data: dict[str, Any]
    occurrences: int = 1  # ("count" in the API; `count` is taken by Beanie)
    source_ids: list[str]  # the domain events folded in (the last ones; the claims are the full record)
    collapse_key: str | None  # type + recipient + the collapse field's value
    window_until: datetime | None  # repeats before this moment collapse into this one
    # The collapse key while this notification may absorb repeats (unread, inside its window), else None.
    # Unique among those that have one: at most one open notification per collapse key, whoever creates it.
    open_key: str | None = None
    read: bool = False
    read_at: datetime | None = None
    version: int = 1
    created_at: datetime
    updated_at: datetime
    updated_key: str  # updated_at + id: newest first, and the cursor
    unread_key: str  # "1"/"0" + updated_key: unread first, then newest

    class Settings:
        name = "notifications"
        indexes = [
            IndexModel([("recipient_id", ASCENDING)]),
            IndexModel([("recipient_id", ASCENDING), ("updated_key", DESCENDING)]),
            IndexModel([("recipient_id", ASCENDING), ("unread_key", DESCENDING)]),
            IndexModel([("recipient_id", ASCENDING), ("read", ASCENDING)]),
            IndexModel(
                [("open_key", ASCENDING)],
                unique=True,
                partialFilterExpression={"open_key": {"$type": "string"}},
            ),
        ]


class EmailWindow(Document):
    """At most one notification email per collapse key per email window: the window is claimed by one
    atomic upsert (`shared_models.store.claim_window`), whichever process sends."""

    key: Annotated[str, Indexed(unique=True)]  # the collapse key
    until_key: str  # time_key of the window's end: a new claim succeeds only after it

    class Settings:
        name = "notification_email_windows"


class NotificationClaim(Document):
    """(source event, recipient) → the notification it went into (or none: the user saw it live).

    Written before the effect, so a retry after a crash finishes the same effect instead of a second one:
    each event notifies each recipient at most once."""

    key: Annotated[str, Indexed(unique=True)]
    notification_id: str | None
    # The effect is done (folded in, or skipped): a later delivery of this source changes nothing, however
    # long after (a notification keeps only its last source ids).
    applied: bool = False
    # The delivery that claimed it is folding it until this moment (`ids.time_key`): another delivery of
    # the same source leaves it to that one until then, and takes it over after (the first one crashed).
    # "" is free: a delivery that failed gave it back.
    held_until_key: str = ""
    created_at: datetime

    class Settings:
        name = "notification_claims"


class NotificationDelivery(Document):
    """Every channel attempt of every notification: the answer to "why did I not get it?"."""

    notification_id: str | None
    recipient_id: Ref
    type: str
    channel: str  # in_app | realtime | email
    status: str  # stored | sent | queued | failed | skipped
    detail: str | None = None
    at: datetime
    at_key: str

    class Settings:
        name = "notification_deliveries"
        indexes = [
            IndexModel([("notification_id", ASCENDING)]),
            IndexModel([("recipient_id", ASCENDING), ("at_key", DESCENDING)]),
        ]


class NotificationPreferences(Document):
    user_id: Annotated[Ref, Indexed(unique=True)]
    disabled: list[str] = Field(default_factory=list)  # "type:channel" pairs the user turned off
    version: int = 1

    class Settings:
        name = "notification_preferences"


class EmailMessage(Document):
    """Mail waiting to go out: sent by the platform's mail job, retried with backoff, once per key."""

    key: Annotated[str, Indexed(unique=True)]  # the notification (and its collapse round): never twice
    to: str
    subject: str
    text: str = ""  # plain mail; or, with `template`, rendered by the mail job (text and HTML)
    template: str | None = None
    context: dict[str, Any] = Field(default_factory=dict)
    user_id: str | None = None  # the recipient's account, when there is one
    category: str = "transactional"  # transactional | notification | marketing (only with a current opt-in)
    # Non-essential mail: what its one-click unsubscribe turns off ("type:<notification type>", "marketing").
    unsubscribe_scope: str | None = None
    notification_id: str | None = None
    status: str = "pending"  # pending | sent | failed
    attempts: int = 0
    next_attempt_key: str  # time_key of the next attempt: the mail job's index-served queue order
    last_error: str | None = None
    created_at: datetime

    class Settings:
        name = "email_outbox"
        indexes = [
            IndexModel([("status", ASCENDING)]),
            IndexModel([("status", ASCENDING), ("next_attempt_key", ASCENDING)]),
        ]
