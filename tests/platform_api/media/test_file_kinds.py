"""What a file is, as confirmation reads it from storage: for every allowed type, real files of it are
confirmed, and files of its own family that are something else (same container, another brand or form) or
that only begin like one (a signature, a header, a cut file) are rejected. The real files were made by
files/make.py; the forged ones are built here."""

import hashlib
import io
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from platform_api.config import Settings
from platform_api.media.service import MediaService
from platform_api.media.storage import ObjectStorage
from shared_models.documents import MediaObject, MediaStatus
from tests.factories import API, register
from tests.media import post_to_storage, start, stored_keys, upload

FILES = Path(__file__).parent / "files"


def made(name: str) -> bytes:
    return (FILES / name).read_bytes()


HTML = b"<!doctype html><script>document.location='https://pay.example/'</script>"


def rebranded(content: bytes, at: int, brand: bytes) -> bytes:
    """`content` with the 4-byte brand at `at` (in its ftyp box) replaced."""
    return content[:at] + brand + content[at + 4 :]


def png_claiming(width: int, height: int) -> bytes:
    """The real PNG with its IHDR saying another size (its CRC recomputed): a valid header for a bomb."""
    png = made("photo.png")
    ihdr = png[12:16] + struct.pack(">II", width, height) + png[24:29]
    return png[:12] + ihdr + struct.pack(">I", zlib.crc32(ihdr)) + png[33:]


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
        real={
            "JFIF photo": made("photo.jpg"),
            "JPEG with an MPF second picture (Ultra HDR, multi-picture)": made("photo-mpf.jpg"),
        },
        look_alikes={
            "JPEG 2000": made("photo.jp2"),
            "PNG": made("photo.png"),
            "FF D8 FF, then an HTML page": b"\xff\xd8\xff" + HTML,
            "JFIF header, then noise": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4,
            "the first 4 bytes of a JPEG": made("photo.jpg")[:4],
            "a JPEG cut in its scan data": made("photo.jpg")[: len(made("photo.jpg")) // 2],
        },
    ),
    "image/png": Kind(
        real={"PNG": made("photo.png"), "animated PNG (APNG)": made("animated.png")},
        look_alikes={
            "JPEG": made("photo.jpg"),
            "\\x89PNG, then an HTML page": b"\x89PNG" + HTML,
            "the first 20 bytes of a PNG": made("photo.png")[:20],
            "a PNG without its IEND chunk": made("photo.png")[:-12],
        },
    ),
    "image/webp": Kind(
        real={"lossy WebP (VP8)": made("lossy.webp"), "lossless WebP (VP8L)": made("lossless.webp")},
        look_alikes={
            "RIFF/WAVE sound": made("sound.wav"),
            "RIFF/AVI video": made("clip.avi"),
            "RIFF WEBP header, then an HTML page": b"RIFF"
            + struct.pack("<I", len(HTML) + 4)
            + b"WEBP"
            + HTML,
        },
    ),
    "image/heic": Kind(
        real={
            "HEIC photo (ftyp heic)": made("photo.heic"),
            "10-bit HEIC photo (ftyp heix)": made("photo-10bit.heic"),
            "multilayer HEIC (ftyp heim)": made("photo-heim.heic"),
            "scalable HEIC (ftyp heis)": made("photo-heis.heic"),
            "HEIC photo branded mif1, listing heix (not heic)": made("photo-mif1-heix.heic"),
        },
        look_alikes={
            "MP4 video (ftyp isom)": made("clip.mp4"),
            "QuickTime video (ftyp qt)": made("clip.mov"),
            "AVIF photo (ftyp avif)": made("photo.avif"),
            "AVIF photo listing heic among its brands": rebranded(made("photo.avif"), 28, b"heic"),
            "MP4 video with its major brand rewritten to heic": rebranded(made("clip.mp4"), 8, b"heic"),
            "a HEIC's ftyp box, then an HTML page": made("photo.heic")[:28] + HTML,
        },
    ),
    "application/pdf": Kind(
        real={
            "PDF": made("document.pdf"),
            "PDF with permissions only (AES-256, empty user password)": made("document-permissions.pdf"),
        },
        look_alikes={
            "PDF marker, then a ZIP archive, then %%EOF": b"%PDF-" + zip_archive() + b"\n%%EOF\n",
            "PDF header line, then an HTML page": b"%PDF-1.7\n<!doctype html><p>Pay here</p>\n",
            "PDF header line, an HTML page, %%EOF": b"%PDF-1.4\n<html><p>Pay here</p></html>\n%%EOF\n",
            "PDF header line, empty objects, %%EOF": b"%PDF-1.7\n"
            + b"1 0 obj << >> endobj\n" * 20
            + b"%%EOF\n",
            "PDF that opens only with a password (cannot be checked)": made("document-password.pdf"),
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
    assert media["sha256"] == hashlib.sha256(content).hexdigest()


async def confirm_rejects(api: httpx.AsyncClient, settings: Settings, declared: str, content: bytes) -> str:
    """Upload `content` declared as `declared`: confirmation must reject it and delete every object of it."""
    who = await register(api)
    started = (await start(api, who, declared, len(content), "file")).json()
    stored = await post_to_storage(started, content, declared)
    assert stored.status_code in (200, 201, 204)
    media_id = started["media"]["id"]
    confirmed = await api.post(f"{API}/media/uploads/{media_id}/confirm", headers=who.bearer)
    assert confirmed.status_code == 422, confirmed.text
    error = confirmed.json()["error"]
    assert error["code"] == "upload_rejected" and error["field"] == "file"
    record = await MediaObject.get(media_id)
    assert record is not None and record.status is MediaStatus.rejected
    assert stored_keys(settings, who.id, media_id) == []
    message: str = error["message"]
    return message


@pytest.mark.parametrize(("declared", "content"), LOOK_ALIKES)
async def test_a_look_alike_is_rejected_and_deleted(
    api: httpx.AsyncClient, settings: Settings, declared: str, content: bytes
) -> None:
    message = await confirm_rejects(api, settings, declared, content)
    assert f"it is not a readable {declared} file (" in message


@pytest.mark.parametrize(
    ("width", "height"),
    [
        pytest.param(20_000, 20_000, id="past Pillow's DecompressionBombError"),
        pytest.param(10_000, 10_000, id="past Pillow's warning, short of its error"),
    ],
)
async def test_an_image_of_too_many_pixels_is_rejected_before_it_is_decoded(
    api: httpx.AsyncClient, settings: Settings, width: int, height: int
) -> None:
    """A 77-byte PNG may claim 400 million pixels; decoding it would hold gigabytes."""
    message = await confirm_rejects(api, settings, "image/png", png_claiming(width, height))
    assert "pixels" in message and "it is not a readable image/png file" in message


def test_a_type_no_file_is_recognised_as_cannot_be_allowed(settings: Settings) -> None:
    heif = settings.model_copy(update={"media_allowed_types": ["image/jpeg", "image/heif"]})
    with pytest.raises(ValueError, match="image/heif"):
        MediaService(heif, ObjectStorage(heif))
