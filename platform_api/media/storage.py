"""S3-compatible object storage through boto3: DigitalOcean Spaces in production, the moto server locally.

boto3 is synchronous, so every call runs in a worker thread. Presigned URLs are signed for the public
endpoint (what the app reaches); reads and checks go to the internal one.
"""

import asyncio
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import boto3
from botocore.client import Config
from botocore.exceptions import BotoCoreError, ClientError

from platform_api.config import Settings

NOT_FOUND = ("404", "NoSuchKey", "NotFound")


class StorageUnavailable(Exception):
    """Object storage did not answer."""


@dataclass(frozen=True)
class StoredObject:
    size: int
    data: bytes | None  # all of it; None when it is bigger than the caller would read


class ObjectStorage:
    def __init__(self, settings: Settings) -> None:
        self.bucket = settings.s3_bucket
        self.upload_ttl = settings.media_upload_ttl_seconds
        self.download_ttl = settings.media_download_ttl_seconds
        self._settings = settings

    # Built on first use: creating a boto3 client costs ~100 ms, and most processes and requests never
    # touch storage.
    @cached_property
    def _client(self) -> Any:
        return self._make(self._settings, self._settings.s3_endpoint_url)

    @cached_property
    def _signer(self) -> Any:
        return self._make(
            self._settings, self._settings.s3_public_endpoint_url or self._settings.s3_endpoint_url
        )

    @staticmethod
    def _make(settings: Settings, endpoint: str | None) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key_id,
            aws_secret_access_key=settings.s3_secret_access_key.get_secret_value(),
            # Path-style works on S3, Spaces, MinIO and moto alike; SigV4 is what Spaces requires.
            config=Config(
                signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 3}
            ),
        )

    def ensure_bucket(self) -> None:
        existing = {b["Name"] for b in self._client.list_buckets().get("Buckets", [])}
        if self.bucket not in existing:
            self._client.create_bucket(Bucket=self.bucket)

    async def check(self) -> None:
        """Readiness: the bucket answers."""
        try:
            await asyncio.to_thread(self._client.head_bucket, Bucket=self.bucket)
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(str(exc)) from exc

    def presigned_post(self, key: str, content_type: str, size: int) -> dict[str, Any]:
        """A POST policy pinning the key, the content type and the exact size (enforced by S3 and Spaces)."""
        post: dict[str, Any] = self._signer.generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", size, size]],
            ExpiresIn=self.upload_ttl,
        )
        return post

    def presigned_get(
        self, key: str, filename: str, *, inline: bool = False, content_type: str | None = None
    ) -> str:
        """A short-lived GET of one object. By default the browser saves it (`attachment`); `inline` asks it to
        show the object in place (an <img>, a PDF viewer), with `content_type` overriding whatever type the
        object was stored with, so what the browser renders is what confirmation checked."""
        params = {
            "Bucket": self.bucket,
            "Key": key,
            "ResponseContentDisposition": f'{"inline" if inline else "attachment"}; filename="{filename}"',
        }
        if inline and content_type is not None:
            params["ResponseContentType"] = content_type
        url: str = self._signer.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=self.download_ttl
        )
        return url

    async def copy(self, source: str, target: str, content_type: str) -> bool:
        """Copy `source` to `target` inside the bucket (server-side), stored with `content_type` whatever the
        source carried; False when there is no `source`."""
        return await asyncio.to_thread(self._copy, source, target, content_type)

    def _copy(self, source: str, target: str, content_type: str) -> bool:
        try:
            self._client.copy_object(
                Bucket=self.bucket,
                Key=target,
                CopySource={"Bucket": self.bucket, "Key": source},
                MetadataDirective="REPLACE",
                ContentType=content_type,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in NOT_FOUND:
                return False
            raise StorageUnavailable(str(exc)) from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(str(exc)) from exc
        return True

    async def read(self, key: str, max_bytes: int) -> StoredObject | None:
        """The object's bytes, holding at most `max_bytes` of them: a bigger object is answered with its size
        and no data. None when there is no such object."""
        return await asyncio.to_thread(self._read, key, max_bytes)

    def _read(self, key: str, max_bytes: int) -> StoredObject | None:
        try:
            found = self._client.get_object(Bucket=self.bucket, Key=key)
            body = found["Body"]
            try:
                size = int(found["ContentLength"])
                data = body.read(max_bytes + 1) if size <= max_bytes else b""
            finally:
                body.close()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in NOT_FOUND:
                return None
            raise StorageUnavailable(str(exc)) from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(str(exc)) from exc
        # Never more than the limit in memory, even should the length the store announced be wrong.
        return StoredObject(max(size, len(data)), data if len(data) <= max_bytes else None)

    async def delete(self, key: str) -> None:
        try:
            await asyncio.to_thread(self._client.delete_object, Bucket=self.bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(str(exc)) from exc
