"""Reading disputes: by id, as a party (anyone else: None → 404), a party's list and the admin queue."""

from datetime import datetime
from typing import Any

from platform_api.disputes.transitions import party_role
from shared_models.documents import Dispute, DisputeCategory, DisputeState, User
from shared_models.enums import Role
from shared_models.ids import parse_object_id, time_key


async def get(dispute_id: str) -> Dispute | None:
    oid = parse_object_id(dispute_id)
    return await Dispute.get(oid) if oid else None


async def get_for_party(dispute_id: str, user: User) -> Dispute | None:
    """The dispute if the user is one of its parties; None (→ 404) for anyone else."""
    dispute = await get(dispute_id)
    if dispute is None or party_role(dispute, str(user.id)) is None:
        return None
    return dispute


async def list_for_party(user: User, cursor: str | None, limit: int) -> tuple[list[Dispute], str | None]:
    field = "customer_id" if user.role is Role.customer else "provider_user_id"
    query: dict[str, Any] = {field: str(user.id)}
    if cursor is not None:
        query["opened_key"] = {"$lt": cursor}
    found = await Dispute.find(query).sort("-opened_key").limit(limit + 1).to_list()
    return found[:limit], found[limit - 1].opened_key if len(found) > limit else None


async def list_for_admin(
    state: DisputeState | None,
    category: DisputeCategory | None,
    opened_before: datetime | None,
    oldest_first: bool,
    cursor: str | None,
    limit: int,
) -> tuple[list[Dispute], str | None]:
    """Filtered by state or category (one equality, each with its own index on opened_key), by age
    (opened before a time), sorted by age either way, paged by a cursor."""
    query: dict[str, Any] = {}
    if state is not None:
        query["state"] = state.value
    if category is not None:
        query["category"] = category.value
    bounds: dict[str, str] = {}
    if opened_before is not None:
        bounds["$lt"] = time_key(opened_before)
    if cursor is not None and oldest_first:
        bounds["$gt"] = cursor
    elif cursor is not None:
        bounds["$lt"] = min(cursor, bounds.get("$lt", cursor))
    if bounds:
        query["opened_key"] = bounds
    found = (
        await Dispute.find(query)
        .sort("opened_key" if oldest_first else "-opened_key")
        .limit(limit + 1)
        .to_list()
    )
    return found[:limit], found[limit - 1].opened_key if len(found) > limit else None
