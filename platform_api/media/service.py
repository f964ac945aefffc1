"""Uploads: presigned POSTs under the owner's prefix, confirmation by the server, short-lived downloads.

Two layers keep a bad file out: the POST policy (exact size, pinned content type and key) that S3 and
Spaces enforce, and the confirmation. A presigned POST can be replayed with other bytes until it expires,
so confirmation never trusts the upload key: it copies the object to a key of its own that no form targets,
checks that copy (size, and its whole content decoded as the declared type by `detection`), records the
copy's SHA-256 and serves only the copy from then on. Nothing refers to an upload until it is confirmed; a
rejected object is deleted.
"""

import asyncio
import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime

import structlog
from beanie import PydanticObjectId

from platform_api.config import Settings
from platform_api.media.detection import RECOGNISED_TYPES, problem_with
from platform_api.media.errors import (
    ContentTypeNotAllowed,
    FileTooLarge,
    MediaNotFound,
    StorageDown,
    UploadMissing,
    UploadRejected,
)
from platform_api.media.storage import ObjectStorage, StorageUnavailable, StoredObject
from shared_models import store
from shared_models.documents import MediaObject, MediaStatus, User
from shared_models.enums import Role
from shared_models.ids import parse_object_id
from shared_models.services.media import may_download

log = structlog.get_logger(__name__)

# What browsers show in place (an <img>, their PDF viewer), so what an inline link may serve. HEIC is left out:
# most browsers cannot render it, and its download serves it.
INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "application/pdf"})

# Decoding a file of MEDIA_MAX_BYTES may hold a few hundred MB of pixels (detection.MAX_PIXELS): at most this
# many at once per process.
CHECKS_AT_ONCE = 2


def media_prefix(user_id: str) -> str:
    """Where a user's uploads live: every presigned POST for them is under it."""
    return f"media/{user_id}/"


def verified_key(media: MediaObject) -> str:
    """A new key for one confirmation's copy, under a prefix no presigned POST targets. One per attempt:
    two confirmations racing never write to the same key, so neither can change what the other checked."""
    return f"verified/{media.owner_id}/{media.id}/{secrets.token_hex(8)}/{media.filename}"


def safe_filename(name: str) -> str:
    """ASCII letters, digits, dot, dash and underscore only; never a path."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_name.rsplit("/", 1)[-1]).strip(".-") or "file"
    return cleaned[-100:]


@dataclass(frozen=True)
class Upload:
    media: MediaObject
    url: str
    fields: dict[str, str]
    expires_in: int


class MediaService:
    def __init__(self, settings: Settings, storage: ObjectStorage) -> None:
        self.storage = storage
        self.max_bytes = settings.media_max_bytes
        self.allowed_types = frozenset(settings.media_allowed_types)
        # A type no file can be recognised as would be refused at every confirmation: refuse it at start-up.
        if unknown := sorted(self.allowed_types - RECOGNISED_TYPES):
            raise ValueError(f"MEDIA_ALLOWED_TYPES: no file is recognised as {', '.join(unknown)}")
        self._checking = asyncio.Semaphore(CHECKS_AT_ONCE)

    async def start_upload(
        self, owner: User, filename: str, content_type: str, size: int, now: datetime
    ) -> Upload:
        if content_type not in self.allowed_types:
            raise ContentTypeNotAllowed(
                f"{content_type} is not accepted; allowed: {', '.join(sorted(self.allowed_types))}.",
                field="content_type",
            )
        if size > self.max_bytes:
            raise FileTooLarge(f"Files may be at most {self.max_bytes} bytes.", field="size")
        oid = PydanticObjectId()
        name = safe_filename(filename)
        upload_key = f"{media_prefix(str(owner.id))}{oid}/{name}"
        media = MediaObject(
            id=oid,
            owner_id=str(owner.id),
            key=upload_key,
            upload_key=upload_key,
            filename=name,
            content_type=content_type,
            declared_size=size,
            created_at=now,
        )
        await media.insert()
        post = self.storage.presigned_post(upload_key, content_type, size)
        log.info("media.upload_started", media_id=str(oid), owner_id=media.owner_id, size=size)
        return Upload(media, post["url"], dict(post["fields"]), self.storage.upload_ttl)

    async def get_own(self, media_id: str, owner: User) -> MediaObject:
        oid = parse_object_id(media_id)
        media = await MediaObject.get(oid) if oid else None
        if media is None or media.owner_id != str(owner.id):
            raise MediaNotFound()
        return media

    async def confirm(self, media_id: str, owner: User, now: datetime) -> MediaObject:
        """Check the stored object and make the upload attachable (idempotent once confirmed)."""
        media = await self.get_own(media_id, owner)
        if media.status is not MediaStatus.pending:
            return self._settled(media)
        upload_key = media.upload_key or media.key  # started before verified copies: the key was the upload's
        copy_key = verified_key(media)
        try:
            if not await self.storage.copy(upload_key, copy_key, media.content_type):
                raise UploadMissing()
            # The copy is what gets checked, recorded and served: a POST replayed to the upload key from here
            # on changes nothing that is read below.
            stored = await self.storage.read(copy_key, self.max_bytes)
        except StorageUnavailable as exc:
            raise StorageDown() from exc
        if stored is None:
            raise StorageDown("Object storage lost the copy it just made; retry shortly.")
        async with self._checking:
            problem, sha256 = await asyncio.to_thread(self._check, media, stored)
        if problem is not None:
            settled = await self._reject(media, problem, (upload_key, copy_key))
            if settled is not None:
                return self._settled(settled)  # a concurrent confirmation got there first
            raise UploadRejected(f"The uploaded file was rejected: {problem}", field="file")
        after: MediaObject = media.model_copy(
            update={
                "status": MediaStatus.ready,
                "key": copy_key,
                "upload_key": upload_key,
                "size": stored.size,
                "sha256": sha256,
                "confirmed_at": now,
            }
        )
        if not await self._settle(media, after):  # a concurrent confirmation got there first
            await self._delete(copy_key, media)
            return self._settled(await self.get_own(media_id, owner))
        # Its form may still be replayed until it expires; whatever lands there then is never read.
        await self._delete(upload_key, media)
        log.info("media.confirmed", media_id=media_id, size=stored.size, sha256=sha256)
        return after

    @staticmethod
    def _settled(media: MediaObject) -> MediaObject:
        if media.status is MediaStatus.rejected:
            raise UploadRejected(
                f"This upload was rejected: {media.rejection}", details={"status": "rejected"}
            )
        return media

    async def _settle(self, media: MediaObject, after: MediaObject) -> bool:
        """Leave `pending` once: confirmation and rejection race on the same compare-and-set."""
        pending = {"_id": media.id, "status": MediaStatus.pending.value}
        return await store.replace_if(pending, after) is not None

    def _check(self, media: MediaObject, stored: StoredObject) -> tuple[str | None, str]:
        """What is wrong with the stored copy, if anything, and its SHA-256 (runs in a worker thread)."""
        if stored.data is None or stored.size > self.max_bytes:
            return f"it is {stored.size} bytes; the limit is {self.max_bytes}.", ""
        if stored.size != media.declared_size:
            return f"it is {stored.size} bytes, not the {media.declared_size} declared.", ""
        if media.content_type not in self.allowed_types:
            return f"{media.content_type} is no longer accepted.", ""
        return problem_with(media.content_type, stored.data), hashlib.sha256(stored.data).hexdigest()

    async def _reject(self, media: MediaObject, problem: str, keys: tuple[str, ...]) -> MediaObject | None:
        """Mark it rejected and delete what was stored; if it had already left `pending`, that record."""
        rejected = media.model_copy(update={"status": MediaStatus.rejected, "rejection": problem})
        settled = await self._settle(media, rejected)
        for key in keys:
            await self._delete(key, media)
        if not settled:
            return await MediaObject.get(media.id)
        log.info("media.rejected", media_id=str(media.id), problem=problem)
        return None

    async def _delete(self, key: str, media: MediaObject) -> None:
        try:
            await self.storage.delete(key)
        except StorageUnavailable:
            log.warning("media.delete_failed", media_id=str(media.id), key=key)

    async def download_url(self, media_id: str, user: User) -> tuple[MediaObject, str]:
        """A short-lived link for the owner, those it was shared with, and admins; 404 for anyone else."""
        oid = parse_object_id(media_id)
        media = await MediaObject.get(oid) if oid else None
        allowed = media is not None and (user.role is Role.admin or await may_download(media, str(user.id)))
        if media is None or not allowed or media.status is not MediaStatus.ready:
            raise MediaNotFound("No such file.")
        return media, self.link(media)

    def link(self, media: MediaObject) -> str:
        """Of the verified copy (or, for uploads confirmed before copies existed, of their only object)."""
        return self.storage.presigned_get(media.key, media.filename)

    def view_link(self, key: str, filename: str, content_type: str | None) -> str | None:
        """A short-lived link that shows a stored object in the browser (inline, served as `content_type`);
        None for a type browsers do not show in place (INLINE_TYPES)."""
        if content_type not in INLINE_TYPES:
            return None
        return self.storage.presigned_get(key, filename, inline=True, content_type=content_type)
