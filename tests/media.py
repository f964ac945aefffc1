"""Uploading the way the app does: ask the API for a presigned POST, send the file straight to storage
(the real moto server), confirm."""

from pathlib import Path
from typing import Any

import httpx

from platform_api.config import Settings
from platform_api.media.storage import ObjectStorage
from tests.factories import API, Account

# Real files (confirmation decodes what it is given): made by tests/platform_api/media/files/make.py.
FILES = Path(__file__).parent / "platform_api" / "media" / "files"
JPEG = (FILES / "photo.jpg").read_bytes()
PDF = (FILES / "document.pdf").read_bytes()


async def start(
    api: httpx.AsyncClient, who: Account, content_type: str, size: int, filename: str = "photo.jpg"
) -> httpx.Response:
    return await api.post(
        f"{API}/media/uploads",
        json={"filename": filename, "content_type": content_type, "size": size},
        headers=who.bearer,
    )


async def post_to_storage(upload: dict[str, Any], content: bytes, content_type: str) -> httpx.Response:
    async with httpx.AsyncClient() as storage:
        return await storage.post(
            upload["url"], data=upload["fields"], files={"file": ("upload", content, content_type)}
        )


async def upload(
    api: httpx.AsyncClient,
    who: Account,
    content: bytes = JPEG,
    content_type: str = "image/jpeg",
    filename: str = "photo.jpg",
) -> dict[str, Any]:
    """A confirmed upload of `who`; returns the media as the API describes it."""
    started = await start(api, who, content_type, len(content), filename)
    assert started.status_code == 201, started.text
    stored = await post_to_storage(started.json(), content, content_type)
    assert stored.status_code in (200, 201, 204), stored.text
    media_id = started.json()["media"]["id"]
    confirmed = await api.post(f"{API}/media/uploads/{media_id}/confirm", headers=who.bearer)
    assert confirmed.status_code == 200, confirmed.text
    body: dict[str, Any] = confirmed.json()
    return body


def stored_keys(settings: Settings, owner_id: str, media_id: str) -> list[str]:
    """Every object stored for one upload: at its upload key and as confirmation's verified copies."""
    client = ObjectStorage(settings)._client
    keys: list[str] = []
    for prefix in (f"media/{owner_id}/{media_id}/", f"verified/{owner_id}/{media_id}/"):
        listed = client.list_objects_v2(Bucket=settings.s3_bucket, Prefix=prefix)
        keys += [item["Key"] for item in listed.get("Contents", [])]
    return keys
