"""Deadlines (the `disputes.sweep` job): evidence closes at each due deadline and the provider is reminded
before theirs, each exactly once (compare-and-set); then `reconcile` finishes interrupted decisions. Safe to
run concurrently with itself and after any downtime."""

import asyncio
import contextlib
from datetime import datetime

import structlog

from platform_api.disputes.resolution import reconcile
from platform_api.disputes.state_machine import DUE_RULES, DisputeEvent
from platform_api.disputes.transitions import SYSTEM, apply, iso
from platform_api.disputes.transitions import event as dispute_event
from platform_api.errors import Conflict
from shared_models.documents import Dispute, DisputeState

log = structlog.get_logger(__name__)


async def sweep_due(now: datetime, batch_size: int = 200) -> int:
    """Close evidence at each due deadline and send due reminders, each exactly once (compare-and-set);
    then reconcile. Safe to run concurrently with itself and after any downtime."""
    moved = 0
    for rule in DUE_RULES:
        while True:
            due = (
                await Dispute.find({"state": rule.source.value, "respond_by": {"$lte": now}})
                .sort("respond_by")
                .limit(batch_size)
                .to_list()
            )
            done = [d for d in await asyncio.gather(*(close_due(d, now) for d in due)) if d is not None]
            moved += len(done)
            if len(due) < batch_size or not done:
                break
    reminders = await Dispute.find({"state": DisputeState.open.value, "remind_at": {"$lte": now}}).to_list()
    for dispute in reminders:
        event = dispute_event(
            "dispute.response_due",
            dispute,
            now,
            due_at=iso(dispute.respond_by),
            recipient_id=dispute.provider_user_id,
        )
        with contextlib.suppress(Conflict):
            await apply(dispute, None, SYSTEM, now, {"remind_at": None}, event_name="remind", events=[event])
    repaired = await reconcile(now)
    if moved or repaired:
        log.info("dispute.sweep", closed=moved, reminded=len(reminders), repaired=repaired)
    return moved


async def close_due(dispute: Dispute, now: datetime) -> Dispute | None:
    try:
        return await apply(
            dispute,
            DisputeEvent.close_evidence,
            SYSTEM,
            now,
            {"respond_by": None, "remind_at": None, "evidence_from": None},
            guard_due=True,
        )
    except Conflict:
        return None  # another sweeper, or an admin, moved it first
