"""The admin audit log: every admin action, append-only."""

from datetime import datetime
from typing import Any

from beanie import Document
from pymongo import ASCENDING, DESCENDING, IndexModel

from shared_models.ids import Ref


class AuditEntry(Document):
    actor_id: Ref
    action: str  # e.g. "dispute.resolve", "user.suspend"
    target_type: str  # "dispute" | "user" | "provider" | "webhook_delivery"
    target_id: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    at: datetime
    at_key: str  # at + id, sortable: newest first with a stable cursor

    class Settings:
        name = "audit_log"
        indexes = [
            IndexModel([("at_key", DESCENDING)]),
            IndexModel([("actor_id", ASCENDING)]),
            IndexModel([("target_id", ASCENDING)]),
            IndexModel([("actor_id", ASCENDING), ("at_key", DESCENDING)]),
            IndexModel([("target_id", ASCENDING), ("at_key", DESCENDING)]),
        ]
