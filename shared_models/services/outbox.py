"""Appending domain events to the outbox: the one way both services add to it."""

from datetime import datetime

from shared_models import store
from shared_models.documents import DomainEvent, OutboxEvent


async def append_events(events: list[tuple[str, str, DomainEvent]], now: datetime) -> int:
    """Insert (aggregate type, aggregate id, event) triples, each at most once by event id; returns how
    many were new (a repeat — a retry, or a sweeper finishing a crash's work — adds nothing)."""
    records = [
        OutboxEvent(
            event_id=event.id,
            type=event.type,
            aggregate_type=aggregate_type,
            aggregate_id=aggregate_id,
            occurred_at=event.occurred_at,
            payload=event.payload,
            recorded_at=now,
        ).model_dump(by_alias=True, exclude={"id", "revision_id"})
        for aggregate_type, aggregate_id, event in events
    ]
    return len(await store.insert_new(OutboxEvent, records))
