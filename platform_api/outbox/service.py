"""Moving domain events from their aggregate into the outbox, exactly once per event id.

A transition writes its event into the aggregate's `pending_events` in the same atomic update as the state
change. Publishing copies each pending event into the outbox (the unique event id makes a retry a no-op),
then has the aggregate's owner clear the pending list, only if the aggregate has not moved on since (version
match); whatever a crash leaves behind, `publish_stale` finds through `pending_since` and finishes.

The outbox writes only `OutboxEvent`: each aggregate's domain registers its type with the function that
clears its own document (`register`), and the relay marks events dispatched through `mark_dispatched`.
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import structlog

from shared_models import store
from shared_models.documents import Dispute, DomainEvent, OutboxEvent, Review, ServiceRequest
from shared_models.services.outbox import append_events

log = structlog.get_logger(__name__)

# The normal path publishes within milliseconds; the sweeper only takes what has waited longer than this.
STALE_AFTER = timedelta(seconds=30)

# The aggregates that record domain events (`pending_events`, `pending_since`, `version`).
Aggregate = ServiceRequest | Dispute | Review
# The owner's write: clear the aggregate's pending events if it is still at the version published; whether
# it was.
ClearPublished = Callable[[Any], Awaitable[bool]]


class OutboxService:
    def __init__(self) -> None:
        self._aggregates: dict[type[Aggregate], tuple[str, ClearPublished]] = {}

    def register(self, model: type[Aggregate], name: str, clear: ClearPublished) -> None:
        """An aggregate type whose events go through here: its outbox name (`service_request`, `dispute`,
        `review`) and its domain's function that clears a published document's pending list."""
        self._aggregates[model] = (name, clear)

    async def publish(self, aggregate: Aggregate, now: datetime) -> int:
        """Copy the aggregate's pending events to the outbox; returns how many were new."""
        return await self.publish_many([aggregate], now)

    async def publish_many(self, aggregates: Sequence[Aggregate], now: datetime) -> int:
        """The same for a batch, in one unordered insert (a sweep of thousands costs one round trip here)."""
        added = await self.append(
            [
                (self._aggregates[type(a)][0], str(a.id), event)
                for a in aggregates
                for event in a.pending_events
            ],
            now,
        )
        await asyncio.gather(*(self._clear(a) for a in aggregates if a.pending_events))
        return added

    async def publish_or_defer(self, aggregates: Sequence[Aggregate], now: datetime) -> None:
        """Publish now if possible. A failure loses nothing: the events stay pending in their aggregate and
        `publish_stale` moves them later, so the write that produced them still succeeds."""
        try:
            await self.publish_many(aggregates, now)
        except Exception:
            log.exception("outbox.publish_failed", aggregate_ids=[str(a.id) for a in aggregates][:20])

    async def append(self, events: list[tuple[str, str, DomainEvent]], now: datetime) -> int:
        """Insert (aggregate type, aggregate id, event) triples, each at most once by event id; returns how
        many were new. The aggregate's own writer clears its pending list afterwards."""
        return await append_events(events, now)

    async def _clear(self, aggregate: Aggregate) -> None:
        # Only what was published is cleared: if a newer transition landed meanwhile (version moved), its
        # events are still pending and its own publish, or the sweeper, takes them.
        if await self._aggregates[type(aggregate)][1](aggregate):
            aggregate.pending_events, aggregate.pending_since = [], None

    async def mark_dispatched(self, event: OutboxEvent, now: datetime) -> None:
        """The relay handled the event (at most once: only while it is still undispatched)."""
        # A whole-document replace: the engine stores a top-level datetime written by $set as a string.
        done = event.model_copy(update={"dispatched_at": now})
        await store.replace_one_if({"_id": event.id, "dispatched_at": None}, done)

    async def publish_stale(self, now: datetime, batch_size: int = 500) -> int:
        """The sweeper: finish every publish a crash interrupted. Safe to run any number of times."""
        added = 0
        for model in self._aggregates:
            while True:
                stuck: list[Aggregate] = list(
                    await model.find({"pending_since": {"$lte": now - STALE_AFTER}})
                    .limit(batch_size)
                    .to_list()
                )
                added += await self.publish_many(stuck, now)
                if len(stuck) < batch_size:
                    break
        if added:
            log.warning("outbox.recovered", events=added)
        return added


outbox_service = OutboxService()
