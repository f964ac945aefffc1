"""Disputes end to end through the API: opening rules, append-only evidence on real storage, the timeline,
the response-deadline job, and party-only visibility."""

import asyncio
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from platform_api.bookings.service import booking_service
from platform_api.disputes.service import dispute_service
from platform_api.disputes.state_machine import RESPONSE_WINDOW
from shared_models.clock import ManualClock
from shared_models.documents import (
    Dispute,
    DisputeEvidence,
    DisputeOutcome,
    OutboxEvent,
    ServiceRequest,
    User,
)
from shared_models.enums import RequestState
from tests.factories import API, login, make_admin
from tests.media import JPEG, PDF, start, upload
from tests.platform_api.bookings.helpers import Parties, drive_to
from tests.platform_api.disputes.helpers import open_dispute

STATEMENT = {"category": "damage", "statement": "A pipe was left leaking behind the sink."}


async def test_a_dispute_only_opens_on_a_completed_job_inside_the_window(
    api: httpx.AsyncClient, parties: Parties, clock: ManualClock
) -> None:
    accepted, _ = await drive_to(parties, RequestState.accepted, clock.now())
    early = await api.post(
        f"{API}/requests/{accepted.id}/dispute", json=STATEMENT, headers=parties.customer.bearer
    )
    assert early.status_code == 409 and early.json()["error"]["code"] == "invalid_transition"

    completed, _ = await drive_to(parties, RequestState.completed, clock.now())
    assert completed.confirm_by is not None
    clock.set(completed.confirm_by)  # the 7-day window is over
    customer = await login(api, parties.customer)
    late = await api.post(f"{API}/requests/{completed.id}/dispute", json=STATEMENT, headers=customer.bearer)
    assert late.status_code == 409 and late.json()["error"]["code"] == "deadline_passed"

    clock.set(completed.confirm_by - timedelta(seconds=1))
    provider = await api.post(
        f"{API}/requests/{completed.id}/dispute", json=STATEMENT, headers=parties.provider.bearer
    )
    assert provider.status_code == 403  # customers open disputes
    stranger = await api.post(
        f"{API}/requests/{completed.id}/dispute", json=STATEMENT, headers=parties.other_customer.bearer
    )
    assert stranger.status_code == 404
    assert await Dispute.find_all().to_list() == []  # no refusal wrote anything

    ok = await api.post(
        f"{API}/requests/{completed.id}/dispute", json=STATEMENT, headers=parties.customer.bearer
    )
    assert ok.status_code == 201 and ok.json()["state"] == "open" and ok.json()["id"] == str(completed.id)
    assert ok.json()["respond_by"].startswith((clock.now() + RESPONSE_WINDOW).isoformat()[:19])
    again = await api.post(
        f"{API}/requests/{completed.id}/dispute", json=STATEMENT, headers=parties.customer.bearer
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_transition"


async def test_a_dispute_stops_auto_confirmation(
    api: httpx.AsyncClient, parties: Parties, clock: ManualClock
) -> None:
    disputed = await open_dispute(api, parties, clock)
    clock.advance(timedelta(days=30))
    await booking_service.sweep_due(clock.now())
    request = await ServiceRequest.get(disputed.request_id)
    assert request is not None and request.state is RequestState.disputed


async def test_both_parties_add_evidence_and_see_one_ordered_timeline_others_get_404(
    api: httpx.AsyncClient, parties: Parties, clock: ManualClock
) -> None:
    disputed = await open_dispute(api, parties, clock)
    url = f"{API}/disputes/{disputed.id}"
    clock.advance(timedelta(minutes=5))
    said = await api.post(
        f"{url}/evidence", json={"text": "Photos to follow."}, headers=parties.customer.bearer
    )
    assert said.status_code == 201
    photo = await upload(api, parties.customer)
    clock.advance(timedelta(minutes=5))
    shown = await api.post(f"{url}/evidence", json={"media_id": photo["id"]}, headers=parties.customer.bearer)
    assert shown.status_code == 201
    assert shown.json()["media"]["sha256"] == photo["sha256"] and shown.json()["author_role"] == "customer"
    invoice = await upload(api, parties.provider, PDF, "application/pdf", "invoice.pdf")
    clock.advance(timedelta(minutes=5))
    answered = await api.post(
        f"{url}/evidence", json={"media_id": invoice["id"]}, headers=parties.provider.bearer
    )
    assert answered.status_code == 201

    for party in (parties.customer, parties.provider):
        timeline = await api.get(f"{url}/timeline", headers=party.bearer)
        assert timeline.status_code == 200
        items = timeline.json()["items"]
        assert [(i["kind"], i["event"] or i["evidence"]["kind"]) for i in items] == [
            ("step", "open"),
            ("evidence", "statement"),
            ("evidence", "media"),
            ("evidence", "media"),
        ]
        assert [i["at"] for i in items] == sorted(i["at"] for i in items)
    # Each side may download what the other submitted; nobody else may.
    for who, media in ((parties.provider, photo), (parties.customer, invoice)):
        link = await api.get(f"{API}/media/{media['id']}/download", headers=who.bearer)
        assert link.status_code == 200
    for outsider in (parties.other_customer, parties.other_provider):
        for path in (url, f"{url}/timeline"):
            assert (await api.get(path, headers=outsider.bearer)).status_code == 404
        added = await api.post(f"{url}/evidence", json={"text": "me too"}, headers=outsider.bearer)
        assert added.status_code == 404
        for media in (photo, invoice):
            assert (
                await api.get(f"{API}/media/{media['id']}/download", headers=outsider.bearer)
            ).status_code == 404
        listed = await api.get(f"{API}/disputes", headers=outsider.bearer)
        assert listed.json()["items"] == []
    mine = await api.get(f"{API}/disputes", headers=parties.provider.bearer)
    assert [d["id"] for d in mine.json()["items"]] == [disputed.id]


async def test_evidence_is_append_only_corrections_are_new_items(
    api: httpx.AsyncClient, parties: Parties, clock: ManualClock, platform_app: FastAPI
) -> None:
    disputed = await open_dispute(api, parties, clock)
    url = f"{API}/disputes/{disputed.id}/evidence"
    first = (await api.post(url, json={"text": "It was on Monday."}, headers=parties.customer.bearer)).json()
    for method in ("PUT", "PATCH", "DELETE"):
        for path in (url, f"{url}/{first['id']}"):
            response = await api.request(
                method, path, json={"text": "It was on Tuesday."}, headers=parties.customer.bearer
            )
            assert response.status_code in (404, 405), (method, path)
    # No route of the API could change evidence: only GET and POST exist under /disputes.
    spec = platform_app.openapi()["paths"]
    assert {m for p, item in spec.items() if p.startswith(f"{API}/disputes") for m in item} == {"get", "post"}
    fix = await api.post(
        url,
        json={"text": "Correction: it was on Tuesday.", "corrects": first["id"]},
        headers=parties.customer.bearer,
    )
    assert fix.status_code == 201 and fix.json()["corrects"] == first["id"]
    not_theirs = await api.post(
        url, json={"text": "No.", "corrects": first["id"]}, headers=parties.provider.bearer
    )
    assert not_theirs.status_code == 422 and not_theirs.json()["error"]["field"] == "corrects"
    stored = await DisputeEvidence.get(first["id"])
    assert stored is not None and stored.text == "It was on Monday."
    both = await api.post(url, json={"text": "x", "media_id": "a" * 24}, headers=parties.customer.bearer)
    assert both.status_code == 422


async def test_only_your_own_confirmed_uploads_can_be_evidence(
    api: httpx.AsyncClient, parties: Parties, clock: ManualClock
) -> None:
    disputed = await open_dispute(api, parties, clock)
    url = f"{API}/disputes/{disputed.id}/evidence"
    theirs = await upload(api, parties.provider)
    unconfirmed = (await start(api, parties.customer, "image/jpeg", len(JPEG))).json()["media"]["id"]
    for media_id in (theirs["id"], unconfirmed, "f" * 24):
        refused = await api.post(url, json={"media_id": media_id}, headers=parties.customer.bearer)
        assert refused.status_code == 422, media_id
        assert refused.json()["error"] | {"message": ""} == {
            "code": "attachment_not_allowed", "field": "media_id", "message": "",
        }  # fmt: skip
    assert await DisputeEvidence.find({"dispute_id": disputed.id}).to_list() == []
    link = await api.get(f"{API}/media/{theirs['id']}/download", headers=parties.customer.bearer)
    assert link.status_code == 404  # a refused attachment grants nothing


async def test_the_response_deadline_closes_evidence_exactly_once(
    api: httpx.AsyncClient, parties: Parties, clock: ManualClock
) -> None:
    disputed = await open_dispute(api, parties, clock)
    deadline = disputed.opened_at + RESPONSE_WINDOW
    clock.set(deadline - timedelta(seconds=1))
    assert await dispute_service.sweep_due(clock.now()) == 0
    last = await api.post(
        f"{API}/disputes/{disputed.id}/evidence",
        json={"text": "Just in time."},
        headers=parties.provider.bearer,
    )
    assert last.status_code == 201
    clock.set(deadline)
    moved = await asyncio.gather(*(dispute_service.sweep_due(clock.now()) for _ in range(4)))
    assert sum(moved) == 1
    assert await dispute_service.sweep_due(clock.now() + timedelta(days=3)) == 0
    dispute = await Dispute.get(disputed.id)
    assert dispute is not None and dispute.state.value == "under_review"
    assert [s.event for s in dispute.history] == ["open", "remind", "close_evidence"]
    late = await api.post(
        f"{API}/disputes/{disputed.id}/evidence", json={"text": "Too late."}, headers=parties.provider.bearer
    )
    assert late.status_code == 409 and late.json()["error"]["code"] == "evidence_closed"
    reminders = await OutboxEvent.find(
        {"aggregate_id": disputed.id, "type": "dispute.response_due"}
    ).to_list()
    assert len(reminders) == 1  # the reminder a day before went out once


@pytest.mark.parametrize("crash", ["before the dispute was written", "before the booking was resolved"])
async def test_reconcile_finishes_what_a_crash_left_half_done(
    api: httpx.AsyncClient, parties: Parties, clock: ManualClock, crash: str
) -> None:
    disputed = await open_dispute(api, parties, clock)
    dispute = await Dispute.get(disputed.id)
    assert dispute is not None
    if crash == "before the dispute was written":
        await dispute.delete()
        assert await dispute_service.reconcile(clock.now()) == 1
        rebuilt = await Dispute.get(disputed.id)
        assert rebuilt is not None and rebuilt.statement == "The tiles were left cracked and dirty."
        assert rebuilt.opened_at == dispute.opened_at and rebuilt.respond_by == dispute.respond_by
    else:
        admin = await User.get((await make_admin(api, clock)).id)
        assert admin is not None
        await dispute_service.resolve(
            dispute, admin, DisputeOutcome.provider_favoured, None, "The provider was right.", clock.now()
        )
        # The decision landed but the booking's transition did not (undone here to simulate the crash).
        await ServiceRequest.get_pymongo_collection().update_one(
            {"_id": dispute.id}, {"$set": {"state": "disputed", "resolution": None}}
        )
        assert await dispute_service.reconcile(clock.now()) == 1
        request = await ServiceRequest.get(disputed.request_id)
        assert request is not None and request.state is RequestState.resolved
        assert request.resolution is not None and request.resolution.outcome == "provider_favoured"
    assert await dispute_service.reconcile(clock.now()) == 0  # nothing left to finish
