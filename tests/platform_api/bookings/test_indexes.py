"""The hot booking queries are index-served (a scan costs seconds at 100k requests on the engine)."""

from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest
from beanie.odm.queries.find import FindMany

from platform_api.bookings import repository
from shared_models.documents import ServiceRequest
from shared_models.enums import RequestState, Role
from tests.plans import explain, index_served

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CURSOR = "20260101T000000.000000-6650f0c2a1b2c3d4e5f60718"
USER = "6650f0c2a1b2c3d4e5f60718"


@pytest.mark.parametrize(
    "query",
    [
        lambda: repository.mine(Role.customer, USER, None, None, 20),
        lambda: repository.mine(Role.customer, USER, RequestState.accepted, CURSOR, 20),
        lambda: repository.mine(Role.provider, USER, None, CURSOR, 20),
        lambda: repository.mine(Role.provider, USER, RequestState.requested, None, 20),
        lambda: repository.due(RequestState.requested, "respond_by", NOW, 200),
        lambda: repository.due(RequestState.completed, "confirm_by", NOW, 200),
    ],
    ids=[
        "customer",
        "customer-state-cursor",
        "provider-cursor",
        "provider-state",
        "due-expiry",
        "due-confirm",
    ],
)
async def test_hot_query_uses_an_index(
    api: httpx.AsyncClient, query: Callable[[], FindMany[ServiceRequest]]
) -> None:
    plan = await explain(query(), ServiceRequest)
    assert index_served(plan), plan["queryPlanner"]["winningPlan"]


async def test_the_plan_check_can_fail(api: httpx.AsyncClient) -> None:
    """A query on an unindexed field must be reported as a scan, or the checks above prove nothing."""
    plan = await ServiceRequest.get_pymongo_collection().find({"description": "x"}).explain()
    assert not index_served(plan)
