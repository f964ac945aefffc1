"""What the browser console reads: the booking beside a dispute, evidence links a page can show inline, and
the way from an account to its provider profile."""

import asyncio
from typing import Any

import httpx

from platform_api.config import Settings
from platform_api.media.storage import ObjectStorage
from shared_models.clock import ManualClock
from shared_models.enums import Role
from tests.factories import API, Account, make_admin, register
from tests.media import FILES, JPEG, PDF, upload
from tests.platform_api.bookings.helpers import Parties
from tests.platform_api.disputes.helpers import Disputed, open_dispute

HEIC = (FILES / "photo.heic").read_bytes()


async def admin_view(api: httpx.AsyncClient, admin: Account, disputed: Disputed) -> dict[str, Any]:
    response = await api.get(f"{API}/admin/disputes/{disputed.id}", headers=admin.bearer)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def add_file(
    api: httpx.AsyncClient, who: Account, disputed: Disputed, content: bytes, content_type: str, filename: str
) -> dict[str, Any]:
    media = await upload(api, who, content, content_type, filename)
    added = await api.post(
        f"{API}/disputes/{disputed.id}/evidence", json={"media_id": media["id"]}, headers=who.bearer
    )
    assert added.status_code == 201, added.text
    return media


async def fetch(url: str) -> httpx.Response:
    async with httpx.AsyncClient() as storage:
        return await storage.get(url)


async def test_the_admin_view_has_the_booking_and_its_agreed_price_beside_the_timeline(
    api: httpx.AsyncClient, parties: Parties, clock: ManualClock
) -> None:
    admin = await make_admin(api, clock)
    disputed = await open_dispute(api, parties, clock)
    view = await admin_view(api, admin, disputed)
    assert view["dispute"]["id"] == disputed.id
    assert [i["event"] for i in view["items"]] == ["open"]
    assert view["booking"] == {
        "id": disputed.request_id,
        "state": "disputed",
        "category": "cleaning",
        "description": "Deep clean of a two-bedroom flat.",
        "agreed_price": {"amount_minor": 12000, "currency": "GBP"},
        "customer": {
            "id": parties.customer.id,
            "display_name": "Test customer",
            "email": parties.customer.email,
        },
        "provider": {
            "id": parties.provider_id,
            "business_name": "Sparkle Cleaning Co.",
            "owner_id": parties.provider.id,
        },
    }


async def test_images_and_pdfs_get_an_inline_view_link_and_keep_their_download_link(
    api: httpx.AsyncClient, parties: Parties, clock: ManualClock
) -> None:
    admin = await make_admin(api, clock)
    disputed = await open_dispute(api, parties, clock)
    photo = await add_file(api, parties.customer, disputed, JPEG, "image/jpeg", "tap.jpg")
    invoice = await add_file(api, parties.provider, disputed, PDF, "application/pdf", "invoice.pdf")
    heic = await add_file(api, parties.customer, disputed, HEIC, "image/heic", "tap.heic")
    said = await api.post(
        f"{API}/disputes/{disputed.id}/evidence",
        json={"text": "See the photo."},
        headers=parties.customer.bearer,
    )
    assert said.status_code == 201

    evidence = {
        (i["evidence"]["media"] or {}).get("id", "text"): i["evidence"]
        for i in (await admin_view(api, admin, disputed))["items"]
        if i["kind"] == "evidence"
    }
    for media, content, content_type in ((photo, JPEG, "image/jpeg"), (invoice, PDF, "application/pdf")):
        item = evidence[media["id"]]
        shown = await fetch(item["view_url"])
        assert shown.status_code == 200 and shown.content == content
        assert shown.headers["content-disposition"] == f'inline; filename="{media["filename"]}"'
        assert shown.headers["content-type"] == content_type
        saved = await fetch(item["download_url"])
        assert saved.status_code == 200 and saved.content == content
        assert saved.headers["content-disposition"].startswith("attachment;")
    # Most browsers cannot show HEIC in place: a download only. A statement has no file at all.
    assert evidence[heic["id"]]["view_url"] is None and evidence[heic["id"]]["download_url"] is not None
    assert evidence["text"]["view_url"] is None and evidence["text"]["download_url"] is None

    # The parties' timeline links nothing: they download through GET /media/{id}/download.
    for party in (parties.customer, parties.provider):
        timeline = await api.get(f"{API}/disputes/{disputed.id}/timeline", headers=party.bearer)
        assert timeline.status_code == 200
        items = [i["evidence"] for i in timeline.json()["items"] if i["kind"] == "evidence"]
        assert len(items) == 4
        assert all(e["view_url"] is None and e["download_url"] is None for e in items)


def test_an_inline_link_serves_the_type_it_names_whatever_the_object_was_stored_with(
    settings: Settings,
) -> None:
    """Objects confirmed before verified copies existed kept the type their uploader's form sent."""
    storage = ObjectStorage(settings)
    storage._client.put_object(
        Bucket=storage.bucket, Key="legacy/tap.jpg", Body=JPEG, ContentType="application/octet-stream"
    )
    shown = httpx.get(
        storage.presigned_get("legacy/tap.jpg", "tap.jpg", inline=True, content_type="image/jpeg")
    )
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"
    assert shown.headers["content-disposition"] == 'inline; filename="tap.jpg"'
    saved = httpx.get(storage.presigned_get("legacy/tap.jpg", "tap.jpg"))
    assert saved.headers["content-disposition"] == 'attachment; filename="tap.jpg"'


async def test_the_parties_cannot_read_the_admin_view_of_their_own_dispute(
    api: httpx.AsyncClient, parties: Parties, clock: ManualClock
) -> None:
    disputed = await open_dispute(api, parties, clock)
    for who in (parties.customer, parties.provider, parties.other_customer):
        response = await api.get(f"{API}/admin/disputes/{disputed.id}", headers=who.bearer)
        assert response.status_code == 403, who.role
        assert response.json()["error"]["code"] == "role_forbidden"
        assert "booking" not in response.json()


async def test_admin_accounts_name_the_provider_profile_of_providers(
    api: httpx.AsyncClient, parties: Parties, clock: ManualClock
) -> None:
    admin = await make_admin(api, clock)
    bearer = admin.bearer

    async def user(account: Account) -> dict[str, Any]:
        response = await api.get(f"{API}/admin/users/{account.id}", headers=bearer)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    assert (await user(parties.provider))["provider_id"] == parties.provider_id
    assert (await user(parties.other_provider))["provider_id"] == parties.other_provider.body["provider"][
        "id"
    ]
    assert (await user(parties.customer))["provider_id"] is None
    assert (await user(admin))["provider_id"] is None

    # A page of the search: every provider with its own profile, everyone else with none.
    page = await api.get(f"{API}/admin/users", headers=bearer, params={"limit": 100})
    assert page.status_code == 200
    found = {u["id"]: u["provider_id"] for u in page.json()["items"]}
    assert found == {
        parties.customer.id: None,
        parties.other_customer.id: None,
        admin.id: None,
        parties.provider.id: parties.provider_id,
        parties.other_provider.id: parties.other_provider.body["provider"]["id"],
    }
    lonely = await register(api)
    only_providers = await api.get(f"{API}/admin/users", headers=bearer, params={"role": "provider"})
    assert {u["provider_id"] for u in only_providers.json()["items"]} == {
        parties.provider_id,
        parties.other_provider.body["provider"]["id"],
    }
    assert lonely.id not in {u["id"] for u in only_providers.json()["items"]}

    # Suspending and lifting answer the same shape.
    suspended = await api.post(
        f"{API}/admin/users/{parties.provider.id}/suspend", json={"reason": "Fake reviews."}, headers=bearer
    )
    assert suspended.status_code == 200
    assert (
        suspended.json()["status"] == "suspended" and suspended.json()["provider_id"] == parties.provider_id
    )
    lifted = await api.post(f"{API}/admin/users/{parties.provider.id}/unsuspend", headers=bearer)
    assert lifted.json()["provider_id"] == parties.provider_id


async def test_repeating_a_done_action_answers_the_state_and_records_nothing(
    api: httpx.AsyncClient, clock: ManualClock
) -> None:
    """A second click, or a second admin a moment later: the same answer, no second audit entry, and the
    first suspension's reason stays the one on record."""
    admin = await make_admin(api, clock)
    user = await register(api)
    provider = await register(api, Role.provider)
    profile_id = provider.body["provider"]["id"]
    users = f"{API}/admin/users/{user.id}"
    for reason in ("Fraud reported twice.", "A different reason."):
        done = await api.post(f"{users}/suspend", json={"reason": reason}, headers=admin.bearer)
        assert done.status_code == 200 and done.json()["status"] == "suspended", done.text
    for _ in range(2):
        assert (await api.post(f"{users}/unsuspend", headers=admin.bearer)).json()["status"] == "active"
    lifted_again = await api.post(f"{users}/unsuspend", headers=admin.bearer)
    assert lifted_again.status_code == 200
    for _ in range(2):
        verified = await api.post(f"{API}/admin/providers/{profile_id}/verify", headers=admin.bearer)
        assert verified.status_code == 200 and verified.json()["verified"] is True
    audit = await api.get(f"{API}/admin/audit", params={"actor_id": admin.id}, headers=admin.bearer)
    entries = [(e["action"], e["target_id"], (e["after"] or {}).get("reason")) for e in audit.json()["items"]]
    assert entries == [
        ("provider.verify", profile_id, None),
        ("user.unsuspend", user.id, None),
        ("user.suspend", user.id, "Fraud reported twice."),
    ]


async def test_admins_acting_at_the_same_moment_make_one_change_and_one_audit_entry(
    api: httpx.AsyncClient, clock: ManualClock
) -> None:
    admins = [await make_admin(api, clock) for _ in range(2)]
    user = await register(api)
    provider = await register(api, Role.provider)
    profile_id = provider.body["provider"]["id"]

    def each(path: str, body: dict[str, Any] | None = None) -> list[Any]:
        return [api.post(f"{API}/admin/{path}", json=body, headers=admins[n % 2].bearer) for n in range(4)]

    verified = await asyncio.gather(*each(f"providers/{profile_id}/verify"))
    suspended = await asyncio.gather(*each(f"users/{user.id}/suspend", {"reason": "Fraud reported."}))
    assert [r.status_code for r in verified + suspended] == [200] * 8, [r.text for r in verified + suspended]
    assert all(r.json()["verified"] for r in verified)
    assert all(r.json()["status"] == "suspended" for r in suspended)
    for target, action in ((profile_id, "provider.verify"), (user.id, "user.suspend")):
        audit = await api.get(f"{API}/admin/audit", params={"target_id": target}, headers=admins[0].bearer)
        assert [e["action"] for e in audit.json()["items"]] == [action], audit.text
