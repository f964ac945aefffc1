"""The admin console: role checks generated from the route table, every action audited, dispute handling
from assignment to resolution, account suspension and provider verification."""

import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from chat_server.app import ChatApp
from platform_api.config import Settings
from shared_models.clock import ManualClock
from shared_models.documents import AuditEntry, ServiceRequest
from shared_models.enums import RequestState
from tests.conftest import ClientFactory
from tests.factories import API, Account, login, make_admin, register
from tests.platform_api.bookings.helpers import Parties, make_parties
from tests.platform_api.disputes.helpers import Disputed, open_dispute
from tests.platform_api.notifications.helpers import relay_for, types_of

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def admin_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) of the admin console, from the app's own route table (its OpenAPI paths)."""
    return sorted(
        (method.upper(), path)
        for path, item in app.openapi()["paths"].items()
        if path.startswith(f"{API}/admin")
        for method in item
    )


def filled(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "0" * 24, path)


async def test_every_admin_route_refuses_customers_and_providers_and_anonymous(
    api: httpx.AsyncClient, platform_app: FastAPI, api_factory: ClientFactory
) -> None:
    routes = admin_routes(platform_app)
    assert len(routes) >= 18  # generated from the app's own route table
    customer = await register(api)
    provider = (await make_parties(api)).provider
    for method, path in routes:
        for who in (customer, provider):
            response = await api.request(method, filled(path), headers=who.bearer, json={})
            assert response.status_code == 403, (method, path, who.role)
            assert response.json()["error"]["code"] == "role_forbidden"
        async with api_factory() as anonymous_client:  # no cookie jar from the registrations above
            anonymous = await anonymous_client.request(method, filled(path), json={})
        assert anonymous.status_code == 401, (method, path)


Action = Callable[["Console"], Awaitable[httpx.Response]]


class Console:
    def __init__(self, api: httpx.AsyncClient, admin: Account, parties: Parties, disputed: Disputed) -> None:
        self.api, self.admin, self.parties, self.disputed = api, admin, parties, disputed

    async def post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return await self.api.post(f"{API}/admin{path}", json=body, headers=self.admin.bearer)


async def _reprocess(c: Console) -> httpx.Response:
    # The provider's subscription deliveries (from the parties' sign-up) are in the ledger: run one again.
    ledger = await c.api.get(
        f"{API}/admin/billing/webhooks", params={"outcome": "processed"}, headers=c.admin.bearer
    )
    return await c.post(f"/billing/webhooks/{ledger.json()['items'][0]['id']}/reprocess")


# Every unsafe admin route, how to perform it, and the audit action it must leave.
ACTIONS: dict[str, tuple[str, Action]] = {
    "/billing/webhooks/{delivery_id}/reprocess": ("webhook.reprocess", _reprocess),
    "/disputes/{dispute_id}/assign": (
        "dispute.assign",
        lambda c: c.post(f"/disputes/{c.disputed.id}/assign"),
    ),
    "/disputes/{dispute_id}/request-info": (
        "dispute.request_info",
        lambda c: c.post(
            f"/disputes/{c.disputed.id}/request-info",
            {"party": "provider", "question": "Any photos of the tiles?"},
        ),
    ),
    "/disputes/{dispute_id}/resolve": (
        "dispute.resolve",
        lambda c: c.post(
            f"/disputes/{c.disputed.id}/resolve",
            {
                "outcome": "split",
                "refund": {"kind": "partial", "amount_minor": 5000},
                "note": "Both had a point.",
            },
        ),
    ),
    "/users/{user_id}/suspend": (
        "user.suspend",
        lambda c: c.post(f"/users/{c.parties.other_customer.id}/suspend", {"reason": "Chargeback fraud."}),
    ),
    "/users/{user_id}/unsuspend": (
        "user.unsuspend",
        lambda c: c.post(f"/users/{c.parties.other_customer.id}/unsuspend"),
    ),
    "/providers/{provider_id}/verify": (
        "provider.verify",
        lambda c: c.post(f"/providers/{c.parties.provider_id}/verify"),
    ),
    "/providers/{provider_id}/unverify": (
        "provider.unverify",
        lambda c: c.post(f"/providers/{c.parties.provider_id}/unverify"),
    ),
}


async def test_every_admin_action_is_written_to_the_audit_log(
    api: httpx.AsyncClient, platform_app: FastAPI, parties: Parties, clock: ManualClock
) -> None:
    unsafe = {
        path.removeprefix(f"{API}/admin") for method, path in admin_routes(platform_app) if method in UNSAFE
    }
    assert unsafe == set(ACTIONS), "a new admin action needs its audit case here"
    admin = await make_admin(api, clock)
    console = Console(api, admin, parties, await open_dispute(api, parties, clock))
    for path, (action, perform) in ACTIONS.items():
        before = await AuditEntry.find_all().count()
        response = await perform(console)
        assert response.status_code == 200, (path, response.text)
        entries = await AuditEntry.find({"action": action}).to_list()
        assert len(entries) == 1 and await AuditEntry.find_all().count() == before + 1, path
        assert entries[0].actor_id == admin.id and entries[0].after is not None
        clock.advance(timedelta(seconds=1))
    log = await api.get(f"{API}/admin/audit", headers=admin.bearer, params={"limit": 100})
    assert log.status_code == 200
    assert [e["action"] for e in log.json()["items"]] == [a for a, _ in reversed(ACTIONS.values())]
    resolved = next(e for e in log.json()["items"] if e["action"] == "dispute.resolve")
    assert resolved["before"]["state"] == "awaiting_info" and resolved["after"]["state"] == "resolved"
    by_target = await api.get(
        f"{API}/admin/audit", headers=admin.bearer, params={"target_id": console.disputed.id}
    )
    assert [e["action"] for e in by_target.json()["items"]] == [
        "dispute.resolve", "dispute.request_info", "dispute.assign",
    ]  # fmt: skip
    # The log has no route that could change it.
    assert {m for m, p in admin_routes(platform_app) if p.endswith("/audit")} == {"GET"}


async def test_resolution_finalises_the_booking_and_notifies_both_parties(
    api: httpx.AsyncClient, parties: Parties, clock: ManualClock, settings: Settings, chat_app: ChatApp
) -> None:
    admin = await make_admin(api, clock)
    disputed = await open_dispute(api, parties, clock)
    url = f"{API}/admin/disputes/{disputed.id}"
    photo_item = await api.post(
        f"{API}/disputes/{disputed.id}/evidence",
        json={"text": "See the tiles."},
        headers=parties.customer.bearer,
    )
    assert photo_item.status_code == 201
    listed = await api.get(f"{API}/admin/disputes", headers=admin.bearer, params={"state": "open"})
    assert [d["id"] for d in listed.json()["items"]] == [disputed.id]
    assigned = await api.post(f"{url}/assign", headers=admin.bearer)
    assert assigned.json()["assigned_admin_id"] == admin.id
    asked = await api.post(
        f"{url}/request-info",
        json={"party": "provider", "question": "Photos after the job?"},
        headers=admin.bearer,
    )
    assert asked.status_code == 200 and asked.json()["state"] == "awaiting_info"
    assert asked.json()["evidence_from"] == "provider"
    refused = await api.post(
        f"{API}/disputes/{disputed.id}/evidence", json={"text": "And me!"}, headers=parties.customer.bearer
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "evidence_closed"
    answered = await api.post(
        f"{API}/disputes/{disputed.id}/evidence",
        json={"text": "Here you are."},
        headers=parties.provider.bearer,
    )
    assert answered.status_code == 201

    for bad in (
        {"outcome": "provider_favoured", "refund": {"kind": "full"}, "note": "Nope."},
        {"outcome": "split", "refund": {"kind": "full"}, "note": "Halves."},
        {
            "outcome": "customer_favoured",
            "refund": {"kind": "partial", "amount_minor": 12000},
            "note": "Too much.",
        },
        {"outcome": "customer_favoured", "note": "No refund given."},
    ):
        response = await api.post(f"{url}/resolve", json=bad, headers=admin.bearer)
        assert response.status_code == 422 and response.json()["error"]["field"].startswith("refund"), bad
    assert (await api.get(f"{API}/disputes/{disputed.id}", headers=parties.customer.bearer)).json()[
        "state"
    ] == "awaiting_info"

    decided = await api.post(
        f"{url}/resolve",
        json={"outcome": "customer_favoured", "refund": {"kind": "full"}, "note": "The job was not done."},
        headers=admin.bearer,
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["refund"] == {"kind": "full", "amount_minor": 12000, "currency": "GBP"}
    request = await ServiceRequest.get(disputed.request_id)
    assert request is not None and request.state is RequestState.resolved
    assert request.resolution is not None and request.resolution.refund_minor == 12000
    assert request.history[-1].actor_id == admin.id and request.history[-1].actor_role.value == "admin"
    again = await api.post(
        f"{url}/resolve",
        json={"outcome": "provider_favoured", "note": "Changed my mind."},
        headers=admin.bearer,
    )
    assert again.status_code == 409

    await relay_for(settings, chat_app, clock).drain()
    for party in (parties.customer, parties.provider):
        assert "dispute_resolved" in await types_of(party.id)
    assert "dispute_info_requested" in await types_of(parties.provider.id)
    assert "dispute_info_requested" not in await types_of(parties.customer.id)
    assert "dispute_evidence_added" in await types_of(parties.provider.id)  # the customer's statement

    view = await api.get(url, headers=admin.bearer)
    assert view.status_code == 200
    events = [i["event"] for i in view.json()["items"] if i["kind"] == "step"]
    assert events == ["open", "assign", "request_info", "resolve"]


async def test_admin_sees_evidence_download_links_and_filters_by_category_and_age(
    api: httpx.AsyncClient, clock: ManualClock
) -> None:
    from tests.media import upload

    admin = await make_admin(api, clock)
    first = await make_parties(api)
    older = await open_dispute(api, first, clock, category="no_show")
    photo = await upload(api, first.customer)
    await api.post(
        f"{API}/disputes/{older.id}/evidence", json={"media_id": photo["id"]}, headers=first.customer.bearer
    )
    clock.advance(timedelta(hours=5))
    second = await make_parties(api)
    newer = await open_dispute(api, second, clock, category="damage")
    admin = await login(api, admin)

    async def ids(**params: Any) -> list[str]:
        response = await api.get(f"{API}/admin/disputes", headers=admin.bearer, params=params)
        assert response.status_code == 200, response.text
        return [d["id"] for d in response.json()["items"]]

    assert await ids() == [newer.id, older.id]
    assert await ids(sort="oldest") == [older.id, newer.id]
    assert await ids(category="no_show") == [older.id]
    assert await ids(opened_before=(clock.now() - timedelta(hours=1)).isoformat()) == [older.id]
    page = await api.get(f"{API}/admin/disputes", headers=admin.bearer, params={"limit": 1})
    assert await ids(cursor=page.json()["next_cursor"]) == [older.id]
    view = (await api.get(f"{API}/admin/disputes/{older.id}", headers=admin.bearer)).json()
    (item,) = [i for i in view["items"] if i["kind"] == "evidence"]
    assert item["evidence"]["media"]["sha256"] == photo["sha256"]
    async with httpx.AsyncClient() as storage:
        fetched = await storage.get(item["evidence"]["download_url"])
    assert fetched.status_code == 200 and len(fetched.content) == photo["size"]
    party_view = await api.get(f"{API}/disputes/{older.id}/timeline", headers=first.provider.bearer)
    assert all(i["evidence"]["download_url"] is None for i in party_view.json()["items"] if i["evidence"])


async def test_suspension_ends_every_session_and_unsuspending_needs_a_new_login(
    api: httpx.AsyncClient, clock: ManualClock
) -> None:
    admin = await make_admin(api, clock)
    user = await register(api)
    second_device = await login(api, user)
    suspended = await api.post(
        f"{API}/admin/users/{user.id}/suspend", json={"reason": "Abuse of providers."}, headers=admin.bearer
    )
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"
    for session in (user, second_device):
        me = await api.get(f"{API}/auth/me", headers=session.bearer)
        assert me.status_code == 403 and me.json()["error"]["code"] == "account_suspended"
    refused = await api.post(
        f"{API}/auth/login", json={"email": user.email, "password": "correct horse battery"}
    )
    assert refused.status_code == 403
    self_suspend = await api.post(
        f"{API}/admin/users/{admin.id}/suspend", json={"reason": "oops"}, headers=admin.bearer
    )
    assert self_suspend.status_code == 409

    # The lift and the new login in the same second of the clock: the new session works at once.
    lifted = await api.post(f"{API}/admin/users/{user.id}/unsuspend", headers=admin.bearer)
    assert lifted.status_code == 200 and lifted.json()["status"] == "active"
    old = await api.get(f"{API}/auth/me", headers=user.bearer)
    assert old.status_code == 401  # sessions from before the suspension stay ended
    fresh = await login(api, user)
    assert (await api.get(f"{API}/auth/me", headers=fresh.bearer)).status_code == 200

    found = await api.get(
        f"{API}/admin/users", headers=admin.bearer, params={"email": user.email[:8].upper()}
    )
    assert user.id in [u["id"] for u in found.json()["items"]]
    only_admins = await api.get(f"{API}/admin/users", headers=admin.bearer, params={"role": "admin"})
    assert {u["role"] for u in only_admins.json()["items"]} == {"admin"}


async def test_providers_are_viewed_with_their_subscription_and_verified(
    api: httpx.AsyncClient, parties: Parties, clock: ManualClock
) -> None:
    admin = await make_admin(api, clock)
    view = await api.get(f"{API}/admin/providers/{parties.provider_id}", headers=admin.bearer)
    assert view.status_code == 200
    body = view.json()
    assert body["owner"]["id"] == parties.provider.id and body["subscription"]["tier"] == "basic"
    assert body["profile"]["verified"] is False
    verified = await api.post(f"{API}/admin/providers/{parties.provider_id}/verify", headers=admin.bearer)
    assert verified.json()["verified"] is True
    public = await api.get(f"{API}/providers/{body['profile']['slug']}")
    assert public.status_code == 200 and public.json()["verified"] is True
    assert (await api.get(f"{API}/admin/providers/{'0' * 24}", headers=admin.bearer)).status_code == 404


@pytest.mark.parametrize("path", ["/admin/disputes/{id}", "/admin/users/{id}"])
async def test_unknown_ids_are_404_for_admins(api: httpx.AsyncClient, clock: ManualClock, path: str) -> None:
    admin = await make_admin(api, clock)
    response = await api.get(API + path.replace("{id}", "0" * 24), headers=admin.bearer)
    assert response.status_code == 404
