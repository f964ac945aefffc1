"""What a create route answers equals what a later read returns, to the microsecond, for every timestamp.

MongoDB and the engine store milliseconds; a response built from the document still in memory would show
microseconds the stored one no longer has. The route list is the app's own (every POST answering 201):
a create route without a scenario here fails the test.
"""

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from shared_models.clock import ManualClock
from shared_models.enums import RequestState, Role
from tests.factories import API, Account, register_payload
from tests.media import JPEG, post_to_storage, start
from tests.platform_api.bookings.helpers import Parties, book, drive_to, make_parties

ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


@pytest.fixture
def clock() -> ManualClock:
    # Sub-millisecond on purpose: the suite's usual clock starts on a whole second, which hides the fault.
    return ManualClock(datetime.now(UTC).replace(microsecond=987654))


@dataclass
class World:
    api: httpx.AsyncClient
    parties: Parties
    clock: ManualClock


@dataclass
class Created:
    response: Any  # what the create route answered
    read: Any  # the read-back, shaped like the response where the read route names a field differently
    expected: dict[str, str] = field(default_factory=dict)  # exact values of client-supplied times, by path


Scenario = Callable[[World], Awaitable[Created]]


async def _call(api: httpx.AsyncClient, method: str, path: str, who: Account | None, status: int,
                body: Any = None) -> Any:  # fmt: skip
    headers = who.bearer if who else None
    response = await api.request(method, f"{API}{path}", json=body, headers=headers)
    assert response.status_code == status, f"{method} {path}: {response.status_code} {response.text}"
    return response.json()


async def register(w: World) -> Created:
    created: dict[str, Any] = {}
    read: dict[str, Any] = {}
    for role in (Role.customer, Role.provider):
        session = await _call(w.api, "POST", "/auth/register", None, 201, register_payload(role))
        token = session["access_token"]
        me = await w.api.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200, me.text
        body = me.json()
        created[role.value] = session
        read[role.value] = {
            "expires_at": body["session_expires_at"],
            "user": body["user"],
            "provider": body["provider"],
        }
    return Created(created, read)


async def create_request(w: World) -> Created:
    # Client-supplied times with microseconds, one of them with an offset: stored as UTC milliseconds.
    day = (w.clock.now() + timedelta(days=3)).date()
    window = {"start": f"{day}T09:00:00.123456Z", "end": f"{day}T13:00:00.654321+01:00"}
    created = await book(w.api, w.parties, w.clock.now(), window=window)
    read = await _call(w.api, "GET", f"/requests/{created['id']}", w.parties.customer, 200)
    expected = {".window.start": f"{day}T09:00:00.123000Z", ".window.end": f"{day}T12:00:00.654000Z"}
    return Created(created, read, expected)


async def _dispute(w: World) -> Any:
    request, now = await drive_to(w.parties, RequestState.completed, w.clock.now())
    w.clock.set(now)
    body = {"category": "poor_quality", "statement": "The tiles were left cracked and dirty."}
    return await _call(w.api, "POST", f"/requests/{request.id}/dispute", w.parties.customer, 201, body)


async def open_dispute(w: World) -> Created:
    created = await _dispute(w)
    return Created(created, await _call(w.api, "GET", f"/disputes/{created['id']}", w.parties.customer, 200))


async def add_evidence(w: World) -> Created:
    dispute = await _dispute(w)
    path = f"/disputes/{dispute['id']}"
    created = await _call(
        w.api, "POST", f"{path}/evidence", w.parties.provider, 201, {"text": "Photos follow."}
    )
    timeline = await _call(w.api, "GET", f"{path}/timeline", w.parties.provider, 200)
    read = [i["evidence"] for i in timeline["items"] if (i["evidence"] or {}).get("id") == created["id"]]
    assert len(read) == 1, timeline
    return Created(created, read[0])


async def write_review(w: World) -> Created:
    request, now = await drive_to(w.parties, RequestState.confirmed, w.clock.now())
    w.clock.set(now)
    path = f"/requests/{request.id}"
    created = await _call(
        w.api, "POST", f"{path}/review", w.parties.customer, 201, {"rating": 4, "text": "Fine."}
    )
    reviews = await _call(w.api, "GET", f"{path}/reviews", w.parties.customer, 200)
    read = [r for r in reviews if r["id"] == created["id"]]
    assert len(read) == 1, reviews
    return Created(created, read[0])


async def start_conversation(w: World) -> Created:
    body = {"provider_id": w.parties.provider_id}
    created = await _call(w.api, "POST", "/conversations", w.parties.customer, 201, body)
    read = await _call(w.api, "GET", f"/conversations/{created['id']}", w.parties.customer, 200)
    return Created(created, read)


async def start_upload(w: World) -> Created:
    who = w.parties.customer
    started = await start(w.api, who, "image/jpeg", len(JPEG))
    assert started.status_code == 201, started.text
    created = started.json()
    stored = await post_to_storage(created, JPEG, "image/jpeg")
    assert stored.status_code in (200, 201, 204), stored.text
    media_id = created["media"]["id"]
    await _call(w.api, "POST", f"/media/uploads/{media_id}/confirm", who, 200)
    download = await _call(w.api, "GET", f"/media/{media_id}/download", who, 200)
    return Created(created, {"media": download["media"]})


SCENARIOS: dict[str, Scenario] = {
    "/auth/register": register,
    "/requests": create_request,
    "/requests/{request_id}/dispute": open_dispute,
    "/disputes/{dispute_id}/evidence": add_evidence,
    "/requests/{request_id}/review": write_review,
    "/conversations": start_conversation,
    "/media/uploads": start_upload,
}


def create_routes(app: FastAPI) -> set[str]:
    return {
        path.removeprefix(API)
        for path, item in app.openapi()["paths"].items()
        for method, operation in item.items()
        if method == "post" and "201" in operation["responses"]
    }


def timestamps(value: Any, at: str = "") -> dict[str, str]:
    """Every ISO time in a JSON value, by its path (`.user.created_at`, `.history[0].at`)."""
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in timestamps(item, f"{at}.{key}").items()}
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in timestamps(item, f"{at}[{i}]").items()}
    return {at: value} if isinstance(value, str) and ISO_TIME.match(value) else {}


def as_stored(text: str) -> bool:
    moment = datetime.fromisoformat(text)
    return moment.microsecond % 1000 == 0 and moment.utcoffset() == timedelta(0)


async def test_every_create_route_answers_the_timestamps_a_read_returns(
    platform_app: FastAPI, api: httpx.AsyncClient, clock: ManualClock
) -> None:
    assert create_routes(platform_app) == set(SCENARIOS), "every create route needs its scenario here"
    world = World(api, await make_parties(api), clock)
    wrong: list[str] = []
    for route, scenario in SCENARIOS.items():
        try:
            created = await scenario(world)
        except Exception as exc:  # one broken route must not hide what the others answer
            wrong.append(f"POST {route}: {type(exc).__name__}: {exc}")
            continue
        made, found = timestamps(created.response), timestamps(created.read)
        if not made:
            wrong.append(f"POST {route}: the response carries no timestamp to compare")
        for path, value in made.items():
            if found.get(path) != value:
                wrong.append(f"POST {route} {path}: answered {value}, read back {found.get(path)}")
            elif not as_stored(value):
                wrong.append(f"POST {route} {path}: {value} is not UTC whole milliseconds")
        for path, value in created.expected.items():
            if made.get(path) != value:
                wrong.append(f"POST {route} {path}: answered {made.get(path)}, expected {value}")
    assert not wrong, "\n".join(wrong)
