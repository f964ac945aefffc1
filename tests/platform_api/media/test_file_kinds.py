"""What a file is, as confirmation reads it from storage: for every allowed type, real files of it are
confirmed and files of its own family that are something else (same container, another brand or form) are
rejected. The real files were made by files/make.py; the forged ones are built here."""

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from platform_api.config import Settings
from platform_api.media.service import MediaService
from platform_api.media.storage import ObjectStorage
from shared_models.documents import MediaObject, MediaStatus
from tests.factories import API, register
from tests.media import post_to_storage, start, upload

FILES = Path(__file__).parent / "files"


def made(name: str) -> bytes:
    return (FILES / name).read_bytes()


def zip_archive() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload.html", "<script>alert(1)</script>")
    return buffer.getvalue()


@dataclass(frozen=True)
class Kind:
    real: dict[str, bytes]  # files of the type: confirmed `ready`
    look_alikes: dict[str, bytes]  # files of its family that are not of it: rejected


KINDS: dict[str, Kind] = {
    "image/jpeg": Kind(
        real={"JFIF photo": made("photo.jpg")},
        look_alikes={"JPEG 2000": made("photo.jp2"), "PNG": made("photo.png")},
    ),
    "image/png": Kind(
        real={"PNG": made("photo.png"), "animated PNG (APNG)": made("animated.png")},
        look_alikes={"JPEG": made("photo.jpg")},
    ),
    "image/webp": Kind(
        real={"lossy WebP (VP8)": made("lossy.webp"), "lossless WebP (VP8L)": made("lossless.webp")},
        look_alikes={"RIFF/WAVE sound": made("sound.wav"), "RIFF/AVI video": made("clip.avi")},
    ),
    "image/heic": Kind(
        real={"HEIC photo (ftyp heic)": made("photo.heic")},
        look_alikes={
            "MP4 video (ftyp isom)": made("clip.mp4"),
            "QuickTime video (ftyp qt)": made("clip.mov"),
            "AVIF photo (ftyp avif)": made("photo.avif"),
        },
    ),
    "application/pdf": Kind(
        real={"PDF": made("document.pdf")},
        look_alikes={
            "PDF marker, then a ZIP archive, then %%EOF": b"%PDF-" + zip_archive() + b"\n%%EOF\n",
            "PDF header line, then an HTML page": b"%PDF-1.7\n<!doctype html><p>Pay here</p>\n",
        },
    ),
}

REAL = [
    pytest.param(declared, content, id=f"{declared} {label}")
    for declared, kind in KINDS.items()
    for label, content in kind.real.items()
]
LOOK_ALIKES = [
    pytest.param(declared, content, id=f"{declared} {label}")
    for declared, kind in KINDS.items()
    for label, content in kind.look_alikes.items()
]


def test_the_table_has_real_files_and_look_alikes_for_every_allowed_type(settings: Settings) -> None:
    assert set(KINDS) == set(settings.media_allowed_types)
    assert all(kind.real and kind.look_alikes for kind in KINDS.values())


@pytest.mark.parametrize(("declared", "content"), REAL)
async def test_a_real_file_of_an_allowed_type_is_confirmed(
    api: httpx.AsyncClient, declared: str, content: bytes
) -> None:
    media = await upload(api, await register(api), content, declared, "file")
    assert media["status"] == "ready" and media["content_type"] == declared


@pytest.mark.parametrize(("declared", "content"), LOOK_ALIKES)
async def test_a_look_alike_of_the_same_family_is_rejected_and_deleted(
    api: httpx.AsyncClient, settings: Settings, declared: str, content: bytes
) -> None:
    who = await register(api)
    started = (await start(api, who, declared, len(content), "file")).json()
    stored = await post_to_storage(started, content, declared)
    assert stored.status_code in (200, 201, 204)
    media_id = started["media"]["id"]
    confirmed = await api.post(f"{API}/media/uploads/{media_id}/confirm", headers=who.bearer)
    assert confirmed.status_code == 422, confirmed.text
    error = confirmed.json()["error"]
    assert error["code"] == "upload_rejected" and error["field"] == "file"
    assert error["message"].endswith(f", not {declared}.")
    record = await MediaObject.get(media_id)
    assert record is not None and record.status is MediaStatus.rejected
    assert await ObjectStorage(settings).inspect(record.key, 10**9) is None


def test_a_type_no_file_is_recognised_as_cannot_be_allowed(settings: Settings) -> None:
    heif = settings.model_copy(update={"media_allowed_types": ["image/jpeg", "image/heif"]})
    with pytest.raises(ValueError, match="image/heif"):
        MediaService(heif, ObjectStorage(heif))
