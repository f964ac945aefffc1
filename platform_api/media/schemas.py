"""Media request and response models."""

from datetime import datetime

from pydantic import BaseModel, Field

from shared_models.documents import MediaObject, MediaStatus


class UploadRequest(BaseModel):
    filename: str = Field(min_length=1, max_length=200, examples=["broken-tap.jpg"])
    content_type: str = Field(min_length=3, max_length=100, examples=["image/jpeg"])
    size: int = Field(ge=1, description="Exact size in bytes; the upload policy accepts only this size.")


class MediaOut(BaseModel):
    id: str
    filename: str
    content_type: str
    status: MediaStatus
    size: int | None = Field(description="As stored (set on confirmation).")
    sha256: str | None = Field(description="Of the stored bytes, computed by the server on confirmation.")
    created_at: datetime
    confirmed_at: datetime | None

    @classmethod
    def of(cls, media: MediaObject) -> "MediaOut":
        return cls(
            id=str(media.id),
            filename=media.filename,
            content_type=media.content_type,
            status=media.status,
            size=media.size,
            sha256=media.sha256,
            created_at=media.created_at,
            confirmed_at=media.confirmed_at,
        )


class UploadOut(BaseModel):
    media: MediaOut
    url: str = Field(description="POST a multipart form here: every field below, then `file` last.")
    fields: dict[str, str]
    expires_in: int = Field(description="Seconds the upload policy stays valid.")


class DownloadOut(BaseModel):
    media: MediaOut
    url: str = Field(description="A presigned GET, valid for `expires_in` seconds.")
    expires_in: int
