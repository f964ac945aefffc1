"""Uploads end to end against the real moto server: presigned POST, confirmation, download links."""

import base64
import hashlib
import json

import httpx

from platform_api.config import Settings
from shared_models.documents import MediaObject, MediaStatus
from tests.factories import API, register
from tests.media import JPEG, PDF, post_to_storage, start, stored_keys, upload
from tests.platform_api.bookings.helpers import Parties


async def test_an_allowed_file_is_uploaded_confirmed_and_downloadable_by_its_owner(
    api: httpx.AsyncClient, parties: Parties
) -> None:
    media = await upload(api, parties.customer, PDF, "application/pdf", "../../invoice (final).pdf")
    assert media["status"] == "ready" and media["size"] == len(PDF)
    assert media["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert media["filename"] == "invoice-final-.pdf"  # never a path
    stored = await MediaObject.get(media["id"])
    assert stored is not None and stored.key.startswith(f"verified/{parties.customer.id}/{media['id']}/")
    assert stored.upload_key is not None
    assert stored.upload_key.startswith(f"media/{parties.customer.id}/{media['id']}/")
    link = await api.get(f"{API}/media/{media['id']}/download", headers=parties.customer.bearer)
    assert link.status_code == 200
    async with httpx.AsyncClient() as storage:
        fetched = await storage.get(link.json()["url"])
    assert fetched.status_code == 200 and fetched.content == PDF
    assert fetched.headers["content-type"] == "application/pdf"


async def test_the_policy_pins_key_type_and_exact_size(api: httpx.AsyncClient, parties: Parties) -> None:
    started = await start(api, parties.customer, "image/jpeg", len(JPEG))
    assert started.status_code == 201
    body = started.json()
    fields = body["fields"]
    assert (
        fields["key"].startswith(f"media/{parties.customer.id}/") and fields["Content-Type"] == "image/jpeg"
    )
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert ["content-length-range", len(JPEG), len(JPEG)] in policy["conditions"]
    assert {"Content-Type": "image/jpeg"} in policy["conditions"]
    assert {"key": fields["key"]} in policy["conditions"]


async def test_disallowed_types_and_oversized_files_are_refused_before_any_upload(
    api: httpx.AsyncClient, parties: Parties
) -> None:
    exe = await start(api, parties.customer, "application/x-msdownload", 100, "run.exe")
    assert exe.status_code == 422 and exe.json()["error"]["code"] == "content_type_not_allowed"
    huge = await start(api, parties.customer, "image/jpeg", 10 * 1024 * 1024 + 1)
    assert huge.status_code == 422 and huge.json()["error"] == {
        "code": "file_too_large",
        "message": "Files may be at most 10485760 bytes.",
        "field": "size",
    }
    assert await MediaObject.find({"owner_id": parties.customer.id}).to_list() == []


async def test_confirmation_checks_the_stored_object_and_never_attaches_a_bad_one(
    api: httpx.AsyncClient, parties: Parties, settings: Settings
) -> None:
    """moto does not enforce POST policies (S3 and Spaces do), so the confirmation's own checks are what
    stop these: a bigger file than declared, another type's file, content that is not what it claims."""
    cases = [
        ("bigger than declared", "image/jpeg", len(JPEG), JPEG + b"x" * 5000, "image/jpeg"),
        ("another type", "image/jpeg", len(PDF), PDF, "application/pdf"),
        ("not really a jpeg", "image/jpeg", 64, b"MZ" + b"\x00" * 62, "image/jpeg"),
    ]
    for label, declared_type, declared_size, content, sent_type in cases:
        started = (await start(api, parties.customer, declared_type, declared_size)).json()
        stored = await post_to_storage(started, content, sent_type)
        assert stored.status_code in (200, 201, 204), label
        media_id = started["media"]["id"]
        confirmed = await api.post(f"{API}/media/uploads/{media_id}/confirm", headers=parties.customer.bearer)
        assert confirmed.status_code == 422 and confirmed.json()["error"]["code"] == "upload_rejected", label
        record = await MediaObject.get(media_id)
        assert record is not None and record.status is MediaStatus.rejected, label
        assert stored_keys(settings, parties.customer.id, media_id) == [], label  # deleted from storage
        link = await api.get(f"{API}/media/{media_id}/download", headers=parties.customer.bearer)
        assert link.status_code == 404, label


async def test_confirming_before_the_file_is_there_is_a_conflict_and_can_be_retried(
    api: httpx.AsyncClient, parties: Parties
) -> None:
    started = (await start(api, parties.customer, "image/jpeg", len(JPEG))).json()
    media_id = started["media"]["id"]
    early = await api.post(f"{API}/media/uploads/{media_id}/confirm", headers=parties.customer.bearer)
    assert early.status_code == 409 and early.json()["error"]["code"] == "upload_missing"
    await post_to_storage(started, JPEG, "image/jpeg")
    again = await api.post(f"{API}/media/uploads/{media_id}/confirm", headers=parties.customer.bearer)
    assert again.status_code == 200 and again.json()["status"] == "ready"
    twice = await api.post(f"{API}/media/uploads/{media_id}/confirm", headers=parties.customer.bearer)
    assert twice.status_code == 200 and twice.json()["sha256"] == again.json()["sha256"]


async def test_only_the_owner_confirms_and_strangers_get_no_download_link(
    api: httpx.AsyncClient, parties: Parties
) -> None:
    media = await upload(api, parties.customer)
    stranger = await register(api)
    for who in (stranger, parties.provider, parties.other_customer):
        link = await api.get(f"{API}/media/{media['id']}/download", headers=who.bearer)
        assert link.status_code == 404 and link.json()["error"]["code"] == "media_not_found"
        confirm = await api.post(f"{API}/media/uploads/{media['id']}/confirm", headers=who.bearer)
        assert confirm.status_code == 404
