"""Notification routes: my notifications, unread count, marking read, and preferences per type x channel."""

from typing import Annotated

from fastapi import APIRouter, Query

from platform_api.deps import READ_SESSION, WRITE_SESSION, AuthSession, ClockDep, CurrentSession
from platform_api.errors import (
    ConcurrentUpdate,
    ValidationFailed,
    errors,
)
from platform_api.notifications.errors import MandatoryType, NotificationNotFound
from platform_api.notifications.schemas import (
    DeliveryOut,
    NotificationOut,
    NotificationPage,
    PreferencesIn,
    PreferencesOut,
    ReadAllOut,
    TypePreference,
    UnreadCount,
)
from platform_api.notifications.service import ADJUSTABLE, notification_service
from shared_models.documents import Notification
from shared_models.ids import SORTABLE_KEY
from shared_models.notifications import CATALOGUE_LIST, Channel

router = APIRouter(prefix="/notifications", tags=["notifications"])
CURSOR = rf"^[01]?{SORTABLE_KEY}$"  # an `unread_key` ("0"/"1" + the key) or an `updated_key`


@router.get(
    "",
    summary="My notifications, newest first (or unread first)",
    response_model=NotificationPage,
    responses=errors(*READ_SESSION),
)
async def list_notifications(
    session: CurrentSession,
    unread_first: bool = False,
    unread_only: bool = False,
    cursor: Annotated[str | None, Query(pattern=CURSOR)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> NotificationPage:
    items, next_cursor = await notification_service.page(
        session.user_id, unread_first, unread_only, cursor, limit
    )
    return NotificationPage(items=[NotificationOut.of(n) for n in items], next_cursor=next_cursor)


@router.get(
    "/unread-count",
    summary="How many of my notifications are unread",
    response_model=UnreadCount,
    responses=errors(*READ_SESSION),
)
async def unread_count(session: CurrentSession) -> UnreadCount:
    return UnreadCount(unread=await notification_service.unread_count(session.user_id))


@router.post(
    "/read-all",
    summary="Mark all my notifications read",
    response_model=ReadAllOut,
    responses=errors(*WRITE_SESSION, ConcurrentUpdate),
)
async def read_all(session: CurrentSession, clock: ClockDep) -> ReadAllOut:
    return ReadAllOut(marked=await notification_service.mark_all_read(session.user_id, clock.now()))


def _preferences(disabled: set[str]) -> PreferencesOut:
    return PreferencesOut(
        types=[
            TypePreference(
                type=kind.key,
                title=kind.title,
                mandatory=kind.mandatory,
                channels={
                    channel.value: f"{kind.key}:{channel.value}" not in disabled
                    for channel in ADJUSTABLE
                    if channel in kind.channels
                }
                | {Channel.in_app.value: True},
            )
            for kind in CATALOGUE_LIST
        ]
    )


@router.get(
    "/preferences",
    summary="Which notification types reach me by which channel",
    response_model=PreferencesOut,
    responses=errors(*READ_SESSION),
)
async def get_preferences(session: CurrentSession) -> PreferencesOut:
    return _preferences(await notification_service.preferences(session.user_id))


@router.put(
    "/preferences",
    summary="Turn type x channel pairs off (realtime or email; mandatory types' email stays on)",
    response_model=PreferencesOut,
    responses=errors(*WRITE_SESSION, MandatoryType, ValidationFailed),
)
async def put_preferences(body: PreferencesIn, session: CurrentSession) -> PreferencesOut:
    disabled = {str(key.value) for key in body.disabled}
    return _preferences(await notification_service.set_preferences(session.user_id, disabled))


@router.post(
    "/{notification_id}/read",
    summary="Mark one of my notifications read",
    response_model=NotificationOut,
    responses=errors(*WRITE_SESSION, NotificationNotFound, ConcurrentUpdate),
)
async def read_one(notification_id: str, session: CurrentSession, clock: ClockDep) -> NotificationOut:
    notification = await _mine(session, notification_id)
    return NotificationOut.of(await notification_service.mark_read(notification, clock.now()))


@router.get(
    "/{notification_id}/deliveries",
    summary="How one of my notifications reached me (or why not): every channel attempt",
    response_model=list[DeliveryOut],
    responses=errors(*READ_SESSION, NotificationNotFound),
)
async def my_deliveries(notification_id: str, session: CurrentSession) -> list[DeliveryOut]:
    await _mine(session, notification_id)
    return [DeliveryOut.of(d) for d in await notification_service.deliveries(notification_id)]


async def _mine(session: AuthSession, notification_id: str) -> Notification:
    """The caller's notification, or 404 (another user's is indistinguishable from none)."""
    notification = await notification_service.get(session.user_id, notification_id)
    if notification is None:
        raise NotificationNotFound()
    return notification
