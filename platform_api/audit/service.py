"""The admin audit log: the one writer of `AuditEntry`, append-only (nothing updates or deletes entries)."""

from datetime import datetime
from typing import Any

import structlog
from beanie import PydanticObjectId

from shared_models.documents import AuditEntry
from shared_models.ids import sortable_key

log = structlog.get_logger(__name__)


class AuditService:
    async def record(
        self,
        actor_id: str,
        action: str,
        target_type: str,
        target_id: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        now: datetime,
    ) -> AuditEntry:
        oid = PydanticObjectId()
        entry = AuditEntry(
            id=oid,
            actor_id=actor_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            before=before,
            after=after,
            at=now,
            at_key=sortable_key(now, oid),
        )
        await entry.insert()
        log.info(
            "admin.action", action=action, actor_id=actor_id, target_type=target_type, target_id=target_id
        )
        return entry

    async def page(
        self, actor_id: str | None, target_id: str | None, cursor: str | None, limit: int
    ) -> tuple[list[AuditEntry], str | None]:
        """Newest first; filter by one actor or one target (each served by its own compound index;
        the router refuses both at once)."""
        query: dict[str, Any] = {}
        if actor_id is not None:
            query["actor_id"] = actor_id
        elif target_id is not None:
            query["target_id"] = target_id
        if cursor is not None:
            query["at_key"] = {"$lt": cursor}
        found = await AuditEntry.find(query).sort("-at_key").limit(limit + 1).to_list()
        next_cursor = found[limit - 1].at_key if len(found) > limit else None
        return found[:limit], next_cursor


audit_service = AuditService()
