"""What was confirmed never changes: a presigned POST can be replayed with other bytes until its policy expires
(moto accepts it as S3 and Spaces would), so confirmation checks a copy of its own and only that copy is
served. Uploads confirmed before copies existed keep being served from where they are."""

import hashlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from platform_api.config import Settings
from platform_api.media.service import MediaService
from platform_api.media.storage import ObjectStorage, StoredObject
from shared_models.documents import MediaObject, MediaStatus
from tests.factories import API, Account, register
from tests.media import FILES, post_to_storage, start, stored_keys

PNG = (FILES / "photo.png").read_bytes()
# Same size as the PNG, so the replayed form's policy (exact size, pinned type and key) takes it.
HTML = b"<!doctype html><script>document.location='https://pay.example/'</script>".ljust(len(PNG), b" ")


async def downloaded(api: httpx.AsyncClient, who: Account, media_id: str) -> httpx.Response:
    link = await api.get(f"{API}/media/{media_id}/download", headers=who.bearer)
    assert link.status_code == 200, link.text
    async with httpx.AsyncClient() as storage:
        return await storage.get(link.json()["url"])


async def started_png(api: httpx.AsyncClient, who: Account) -> dict[str, Any]:
    started = await start(api, who, "image/png", len(PNG), "photo.png")
    assert started.status_code == 201, started.text
    assert (await post_to_storage(started.json(), PNG, "image/png")).status_code in (200, 201, 204)
    body: dict[str, Any] = started.json()
    return body


def media_of(app: FastAPI) -> MediaService:
    service: MediaService = app.state.media
    return service


async def test_replaying_the_upload_form_after_confirmation_changes_nothing_served(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    who = await register(api)
    started = await started_png(api, who)
    media_id = started["media"]["id"]
    confirmed = await api.post(f"{API}/media/uploads/{media_id}/confirm", headers=who.bearer)
    assert confirmed.status_code == 200 and confirmed.json()["sha256"] == hashlib.sha256(PNG).hexdigest()

    replayed = await post_to_storage(started, HTML, "image/png")
    assert replayed.status_code in (200, 201, 204)  # storage takes it: the form is still valid

    served = await downloaded(api, who, media_id)
    assert served.content == PNG and served.headers["content-type"] == "image/png"
    record = await MediaObject.get(media_id)
    assert record is not None and record.sha256 == hashlib.sha256(PNG).hexdigest()
    assert (
        record.key.startswith(f"verified/{who.id}/{media_id}/")
        and record.upload_key == started["fields"]["key"]
    )
    # The replayed bytes sit at the upload key, which nothing reads; the copy is the one object served.
    assert [key for key in stored_keys(settings, who.id, media_id) if key.startswith("verified/")] == [
        record.key
    ]


async def test_a_replay_after_the_copy_is_not_what_was_checked_or_served(
    api: httpx.AsyncClient, platform_app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The HTML lands at the upload key between the copy and the reading: the copy is read, checked, served."""
    who = await register(api)
    started = await started_png(api, who)
    storage = media_of(platform_app).storage
    read: Callable[[str, int], Awaitable[StoredObject | None]] = storage.read

    async def replay_then_read(key: str, max_bytes: int) -> StoredObject | None:
        assert (await post_to_storage(started, HTML, "image/png")).status_code in (200, 201, 204)
        return await read(key, max_bytes)

    monkeypatch.setattr(storage, "read", replay_then_read)
    media_id = started["media"]["id"]
    confirmed = await api.post(f"{API}/media/uploads/{media_id}/confirm", headers=who.bearer)
    assert confirmed.status_code == 200 and confirmed.json()["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert (await downloaded(api, who, media_id)).content == PNG


async def test_a_replay_before_the_copy_is_what_gets_checked_and_rejected(
    api: httpx.AsyncClient, platform_app: FastAPI, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    who = await register(api)
    started = await started_png(api, who)
    storage = media_of(platform_app).storage
    copy: Callable[[str, str, str], Awaitable[bool]] = storage.copy

    async def replay_then_copy(source: str, target: str, content_type: str) -> bool:
        assert (await post_to_storage(started, HTML, "image/png")).status_code in (200, 201, 204)
        return await copy(source, target, content_type)

    monkeypatch.setattr(storage, "copy", replay_then_copy)
    media_id = started["media"]["id"]
    confirmed = await api.post(f"{API}/media/uploads/{media_id}/confirm", headers=who.bearer)
    assert confirmed.status_code == 422 and confirmed.json()["error"]["code"] == "upload_rejected"
    record = await MediaObject.get(media_id)
    assert record is not None and record.status is MediaStatus.rejected
    assert stored_keys(settings, who.id, media_id) == []


async def test_an_upload_confirmed_before_verified_copies_is_still_served_from_its_key(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    """Records from before: `ready`, no `upload_key`, the object at `key` under media/ (their forms expired)."""
    who = await register(api)
    media = MediaObject(
        owner_id=who.id,
        key=f"media/{who.id}/legacy/photo.png",
        filename="photo.png",
        content_type="image/png",
        declared_size=len(PNG),
        status=MediaStatus.ready,
        size=len(PNG),
        sha256=hashlib.sha256(PNG).hexdigest(),
        created_at=datetime(2026, 11, 1, tzinfo=UTC),
        confirmed_at=datetime(2026, 11, 1, tzinfo=UTC),
    )
    await media.insert()
    ObjectStorage(settings)._client.put_object(
        Bucket=settings.s3_bucket, Key=media.key, Body=PNG, ContentType="image/png"
    )
    assert (await downloaded(api, who, str(media.id))).content == PNG
    again = await api.post(f"{API}/media/uploads/{media.id}/confirm", headers=who.bearer)
    assert again.status_code == 200 and again.json()["status"] == "ready"
