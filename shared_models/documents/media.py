"""Uploaded media: an object in S3-compatible storage, referenced only once the server has verified it."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from beanie import Document, Indexed
from pymongo import ASCENDING, IndexModel

from shared_models.ids import Ref


class MediaStatus(StrEnum):
    pending = "pending"  # presigned, not yet confirmed: never attachable
    ready = "ready"  # confirmed: exists, size and type checked, checksum recorded
    rejected = "rejected"  # the stored object broke the rules; it was deleted


class MediaObject(Document):
    owner_id: Ref
    key: Annotated[str, Indexed(unique=True)]  # media/<owner_id>/<media id>/<file name>
    filename: str
    content_type: str  # what the client declared, and the policy pinned
    declared_size: int
    status: MediaStatus = MediaStatus.pending
    size: int | None = None  # as stored (HEAD)
    sha256: str | None = None  # of the stored bytes, computed by the server on confirmation
    rejection: str | None = None
    created_at: datetime
    confirmed_at: datetime | None = None

    class Settings:
        name = "media_objects"
        indexes = [IndexModel([("owner_id", ASCENDING)]), IndexModel([("status", ASCENDING)])]


class MediaGrant(Document):
    """Someone besides the owner who may download an object: the other side of a message or a dispute.

    One document per (object, user), found by one equality on `grant_key` (the engine cannot serve a
    compound equality otherwise)."""

    grant_key: Annotated[str, Indexed(unique=True)]  # "<media id>:<user id>"
    media_id: Ref
    user_id: Ref
    reason: str  # "message:<id>" | "dispute:<id>"
    created_at: datetime

    class Settings:
        name = "media_grants"
        indexes = [IndexModel([("user_id", ASCENDING)]), IndexModel([("media_id", ASCENDING)])]
