"""Media routes: start an upload (presigned POST), confirm it, get a download link."""

from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, status

from platform_api.deps import READ_SESSION, WRITE_SESSION, ClockDep, CurrentSession, get_media
from platform_api.errors import (
    errors,
)
from platform_api.idempotency import IDEMPOTENT, IdempotentRoute
from platform_api.media.errors import (
    ContentTypeNotAllowed,
    FileTooLarge,
    MediaNotFound,
    StorageDown,
    UploadMissing,
    UploadRejected,
)
from platform_api.media.schemas import DownloadOut, MediaOut, UploadOut, UploadRequest
from platform_api.media.service import MediaService

router = APIRouter(prefix="/media", tags=["media"], route_class=IdempotentRoute)
log = structlog.get_logger(__name__)


MediaDep = Annotated[MediaService, Depends(get_media)]


@router.post(
    "/uploads",
    dependencies=[IDEMPOTENT],
    summary="Start an upload: a presigned POST for one file under your own prefix",
    description="Then POST the file straight to storage with the returned form, and confirm it. The policy "
    "pins the key, the content type and the exact size. An unconfirmed upload can never be attached.",
    status_code=status.HTTP_201_CREATED,
    response_model=UploadOut,
    responses=errors(*WRITE_SESSION, ContentTypeNotAllowed, FileTooLarge),
)
async def start_upload(
    body: UploadRequest, session: CurrentSession, clock: ClockDep, media: MediaDep
) -> UploadOut:
    upload = await media.start_upload(session.user, body.filename, body.content_type, body.size, clock.now())
    return UploadOut(
        media=MediaOut.of(upload.media), url=upload.url, fields=upload.fields, expires_in=upload.expires_in
    )


@router.post(
    "/uploads/{media_id}/confirm",
    summary="Confirm an upload: the server checks the stored object and makes it attachable",
    description="The server copies the stored file to a key no upload form targets, checks the copy (its size, "
    "and its whole content decoded as the declared type) and serves only that copy from then on. 404 for "
    "someone else's upload; 409 `upload_missing` before the file is in storage; 422 `upload_rejected` (and "
    "the object is deleted) when its size or content is not a file of the declared type.",
    response_model=MediaOut,
    responses=errors(*WRITE_SESSION, MediaNotFound, UploadMissing, UploadRejected, StorageDown),
)
async def confirm_upload(
    media_id: str, session: CurrentSession, clock: ClockDep, media: MediaDep
) -> MediaOut:
    return MediaOut.of(await media.confirm(media_id, session.user, clock.now()))


@router.get(
    "/{media_id}/download",
    summary="A short-lived download link (owner, the other side it was shared with, admins)",
    response_model=DownloadOut,
    responses=errors(*READ_SESSION, MediaNotFound),
)
async def download(media_id: str, session: CurrentSession, media: MediaDep) -> DownloadOut:
    found, url = await media.download_url(media_id, session.user)
    return DownloadOut(media=MediaOut.of(found), url=url, expires_in=media.storage.download_ttl)
