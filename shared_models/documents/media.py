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
    # The object served, and attached by its key to dispute evidence. While pending: the upload key. Once
    # ready: the verified copy, verified/<owner_id>/<media id>/<attempt>/<file name>, which no upload form
    # targets, so what was checked is what is served. Uploads confirmed before copies existed (no
    # `upload_key`) keep serving their upload key: their forms expired MEDIA_UPLOAD_TTL_SECONDS after they
    # were issued, and dispute evidence already names that key.
    key: Annotated[str, Indexed(unique=True)]
    # Where the presigned POST puts the file: media/<owner_id>/<media id>/<file name>. Its form stays valid
    # for MEDIA_UPLOAD_TTL_SECONDS, confirmed or not, so nothing is ever served from it.
    upload_key: str | None = None
    filename: str
    content_type: str  # what the client declared, and the policy pinned
    declared_size: int
    status: MediaStatus = MediaStatus.pending
    size: int | None = None  # as stored (HEAD)
    sha256: str | None = None  # of the bytes served (the verified copy), computed on confirmation
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
