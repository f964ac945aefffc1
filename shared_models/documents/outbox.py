"""The outbox: domain events, each exactly once (unique event id), waiting to be delivered."""

from datetime import datetime
from typing import Annotated, Any

from beanie import Document, Indexed
from pymongo import ASCENDING, IndexModel


class OutboxEvent(Document):
    event_id: Annotated[str, Indexed(unique=True)]
    type: str
    aggregate_type: str
    aggregate_id: str
    occurred_at: datetime
    payload: dict[str, Any]
    recorded_at: datetime
    dispatched_at: datetime | None = None

    class Settings:
        name = "outbox"
        indexes = [
            IndexModel([("aggregate_id", ASCENDING)]),
            IndexModel([("dispatched_at", ASCENDING)]),
            IndexModel([("dispatched_at", ASCENDING), ("occurred_at", ASCENDING)]),
        ]
