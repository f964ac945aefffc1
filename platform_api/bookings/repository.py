"""The booking domain's queries, kept in one place so tests can assert each one is index-served."""

from datetime import datetime

from beanie.odm.queries.find import FindMany

from shared_models import store
from shared_models.documents import ServiceRequest, ServiceRequestSummary
from shared_models.enums import RequestState, Role


def party_field(role: Role) -> str:
    return "customer_id" if role is Role.customer else "provider_user_id"


def mine(
    role: Role, user_id: str, state: RequestState | None, cursor: str | None, limit: int
) -> FindMany[ServiceRequest]:
    """A party's requests, newest first, one equality per field (never $in/$or, which scan on the engine)."""
    query: dict[str, object] = {party_field(role): user_id}
    if state is not None:
        query["state"] = state.value
    if cursor is not None:
        query["created_key"] = {"$lt": cursor}
    return ServiceRequest.find(query).sort("-created_key").limit(limit)


async def my_page(
    role: Role, user_id: str, state: RequestState | None, cursor: str | None, limit: int
) -> list[ServiceRequestSummary]:
    """`mine`, read as whole documents and validated as summaries (history and pending events ignored).
    Not a projection: the engine copies every document it projects, which cost more than sending the
    fields a list does not show (20 of 200 requests: 6.3 ms projected, 3.7 ms whole; bench/README.md)."""
    query = mine(role, user_id, state, cursor, limit)
    docs = await store.read_many(
        ServiceRequest, query.get_filter_query(), sort=[("created_key", -1)], limit=limit
    )
    return [ServiceRequestSummary.model_validate(doc) for doc in docs]


def due(state: RequestState, deadline_field: str, now: datetime, limit: int) -> FindMany[ServiceRequest]:
    """Requests in `state` whose `deadline_field` has passed, oldest deadline first."""
    return (
        ServiceRequest.find({"state": state.value, deadline_field: {"$lte": now}})
        .sort(deadline_field)
        .limit(limit)
    )
