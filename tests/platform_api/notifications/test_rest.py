"""Notifications over REST: listing (newest or unread first, cursor pages), unread count, read, read-all,
preferences, the delivery log — each user sees only their own."""

from datetime import timedelta

import httpx

from shared_models.clock import ManualClock
from shared_models.enums import Role
from shared_models.notifications import CATALOGUE
from shared_models.services.notifications import Presence, notify
from tests.factories import API, make_admin, register

OFFLINE = Presence(online=False, engaged=False)


async def test_list_count_read_and_read_all(api: httpx.AsyncClient, clock: ManualClock) -> None:
    user = await register(api, Role.customer)
    stranger = await register(api, Role.customer)
    kind = CATALOGUE["request_accepted"]
    ids = []
    for n in range(5):
        payload = {
            "request_id": f"{n:024x}",
            "customer_id": user.id,
            "provider_id": "p" * 24,
            "provider_user_id": "u" * 24,
        }
        outcome = await notify(kind, user.id, f"e:{n}", payload, OFFLINE, clock.now())
        assert outcome.notification is not None
        ids.append(str(outcome.notification.id))
        clock.advance(timedelta(seconds=1))
    h = user.bearer
    assert (await api.get(f"{API}/notifications/unread-count", headers=h)).json() == {"unread": 5}
    page1 = (await api.get(f"{API}/notifications", params={"limit": 2}, headers=h)).json()
    page2 = (
        await api.get(f"{API}/notifications", params={"limit": 10, "cursor": page1["next_cursor"]}, headers=h)
    ).json()
    assert [i["id"] for i in page1["items"] + page2["items"]] == list(reversed(ids))  # newest first
    assert page2["next_cursor"] is None

    read = await api.post(f"{API}/notifications/{ids[4]}/read", headers=h)
    assert read.status_code == 200 and read.json()["read"] is True
    unread_first = (await api.get(f"{API}/notifications", params={"unread_first": True}, headers=h)).json()
    assert [i["id"] for i in unread_first["items"]] == [ids[3], ids[2], ids[1], ids[0], ids[4]]
    only = (await api.get(f"{API}/notifications", params={"unread_only": True}, headers=h)).json()
    assert len(only["items"]) == 4

    # Nobody else's: 404, and nothing changes.
    assert (await api.post(f"{API}/notifications/{ids[0]}/read", headers=stranger.bearer)).status_code == 404
    assert (
        await api.get(f"{API}/notifications/{ids[0]}/deliveries", headers=stranger.bearer)
    ).status_code == 404
    assert (await api.get(f"{API}/notifications", headers=stranger.bearer)).json()["items"] == []

    assert (await api.post(f"{API}/notifications/read-all", headers=h)).json() == {"marked": 4}
    assert (await api.get(f"{API}/notifications/unread-count", headers=h)).json() == {"unread": 0}
    log = (await api.get(f"{API}/notifications/{ids[0]}/deliveries", headers=h)).json()
    assert [(d["channel"], d["status"]) for d in log] == [("in_app", "stored"), ("email", "queued")]


async def test_preferences_round_trip_and_typed_errors(api: httpx.AsyncClient) -> None:
    user = await register(api, Role.provider)
    h = user.bearer
    before = (await api.get(f"{API}/notifications/preferences", headers=h)).json()["types"]
    assert len(before) == 24 and all(all(t["channels"].values()) for t in before)
    put = await api.put(
        f"{API}/notifications/preferences", json={"disabled": ["request_created:email"]}, headers=h
    )
    assert put.status_code == 200
    created = next(t for t in put.json()["types"] if t["type"] == "request_created")
    assert created["channels"] == {"realtime": True, "email": False, "in_app": True}
    for bad in (["nope:email"], ["request_created:in_app"], ["request_created"]):
        response = await api.put(f"{API}/notifications/preferences", json={"disabled": bad}, headers=h)
        assert response.status_code == 422 and response.json()["error"]["field"].startswith("disabled"), bad


async def test_admins_read_the_delivery_log(api: httpx.AsyncClient, clock: ManualClock) -> None:
    user = await register(api, Role.customer)
    admin = await make_admin(api, clock)
    kind = CATALOGUE["account_suspended"]
    await notify(kind, user.id, "s:1", {"recipient_id": user.id, "reason": "test"}, OFFLINE, clock.now())
    log = await api.get(f"{API}/admin/users/{user.id}/notification-deliveries", headers=admin.bearer)
    assert log.status_code == 200
    assert {(d["type"], d["channel"], d["status"]) for d in log.json()} == {
        ("account_suspended", "in_app", "stored"),
        ("account_suspended", "email", "queued"),
    }
    assert (
        await api.get(f"{API}/admin/users/{user.id}/notification-deliveries", headers=user.bearer)
    ).status_code == 403
