"""Dispute factories: a completed job disputed through the API, an admin, and the scheduler's sweep."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from shared_models.clock import ManualClock
from shared_models.enums import RequestState
from tests.factories import API, Account, make_admin
from tests.platform_api.bookings.helpers import Parties, drive_to


@dataclass
class Disputed:
    request_id: str
    dispute: dict[str, Any]
    opened_at: datetime

    @property
    def id(self) -> str:
        return str(self.dispute["id"])


async def open_dispute(
    api: httpx.AsyncClient, parties: Parties, clock: ManualClock, category: str = "poor_quality"
) -> Disputed:
    request, now = await drive_to(parties, RequestState.completed, clock.now())
    clock.set(now)
    response = await api.post(
        f"{API}/requests/{request.id}/dispute",
        json={"category": category, "statement": "The tiles were left cracked and dirty."},
        headers=parties.customer.bearer,
    )
    assert response.status_code == 201, response.text
    return Disputed(str(request.id), response.json(), clock.now())


async def admin(api: httpx.AsyncClient, clock: ManualClock) -> Account:
    return await make_admin(api, clock)
