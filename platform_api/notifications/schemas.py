"""Notification request/response models."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared_models.documents import Notification, NotificationDelivery
from shared_models.notifications import CATALOGUE_LIST, Channel


class NotificationOut(BaseModel):
    id: str
    type: str = Field(examples=["new_message"])
    title: str
    body: str
    count: int = Field(description="Repeats folded into this one (e.g. messages within a minute).")
    data: dict[str, Any]
    read: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, n: Notification) -> "NotificationOut":
        return cls(
            id=str(n.id),
            type=n.type,
            title=n.title,
            body=n.body,
            count=n.occurrences,
            data=n.data,
            read=n.read,
            created_at=n.created_at,
            updated_at=n.updated_at,
        )


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None


class UnreadCount(BaseModel):
    unread: int


class ReadAllOut(BaseModel):
    marked: int


class TypePreference(BaseModel):
    type: str
    title: str
    mandatory: bool
    channels: dict[str, bool] = Field(description="Channel → on. In-app is always on (it is the record).")


class PreferencesOut(BaseModel):
    types: list[TypePreference]


# Every "type:channel" pair that can be turned off, as an enum, so the schema says exactly what is accepted.
PreferenceKey = StrEnum(  # type: ignore[misc]
    "PreferenceKey",
    {
        f"{kind.key}__{channel.value}": f"{kind.key}:{channel.value}"
        for kind in CATALOGUE_LIST
        for channel in (Channel.realtime, Channel.email)
        if channel in kind.channels and not (channel is Channel.email and kind.mandatory)
    },
)


class PreferencesIn(BaseModel):
    """The complete list of type x channel pairs to turn off (`realtime` or `email`); the rest are on."""

    model_config = ConfigDict(extra="forbid")

    disabled: list[PreferenceKey] = Field(
        max_length=100, examples=[["new_message:email", "request_created:realtime"]]
    )


class DeliveryOut(BaseModel):
    channel: str
    status: str
    detail: str | None
    at: datetime

    @classmethod
    def of(cls, d: NotificationDelivery) -> "DeliveryOut":
        return cls(channel=d.channel, status=d.status, detail=d.detail, at=d.at)
