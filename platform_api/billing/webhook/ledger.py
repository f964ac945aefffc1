"""The webhook ledger: every delivery recorded raw with how it ended, and each event id processed once.

Generic over Stripe events (not only subscriptions): whatever handles an event type writes its outcome
here. `WebhookDelivery` documents expire after `WEBHOOK_LEDGER_RETENTION_DAYS`; `ProcessedStripeEvent` has a
unique event id, so of concurrent deliveries of one event the first to finish records it and the rest are
no-ops.
"""

import contextlib
import time
import traceback
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from platform_api.config import Settings
from platform_api.metrics import WEBHOOK_OUTCOMES
from shared_models import store
from shared_models.clock import Clock
from shared_models.documents import ProcessedStripeEvent, WebhookDelivery
from shared_models.ids import sortable_key

KEPT_HEADERS = ("stripe-signature", "content-type", "content-length", "user-agent")
MAX_STORED_BODY = 256 * 1024  # bytes of a body kept in the ledger (Stripe's events are a few KB)


@dataclass(frozen=True)
class Outcome:
    status: str  # processed | duplicate | ignored
    detail: str | None = None


def kept_headers(headers: Any) -> dict[str, str]:
    """The headers worth keeping of a delivery (each cut to 2,000 characters)."""
    return {name: headers[name][:2000] for name in KEPT_HEADERS if name in headers}


class Ledger:
    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock

    def entry(
        self,
        body: str,
        headers: dict[str, str],
        source: str,  # stripe | replay | reprocess | drift_check | seed
        *,
        signature_valid: bool,
        outcome: str,  # received | rejected | processed | duplicate | ignored | failed
        detail: str | None = None,
        event_id: str | None = None,
        event_type: str | None = None,
        reprocess_of: str | None = None,
    ) -> WebhookDelivery:
        """A ledger entry (not yet stored)."""
        now, oid = self.clock.now(), ObjectId()
        return WebhookDelivery(
            id=oid,
            received_at=now,
            source=source,
            headers=headers,
            body=body[:MAX_STORED_BODY],
            signature_valid=signature_valid,
            event_id=event_id,
            event_type=event_type,
            outcome=outcome,
            detail=detail,
            reprocess_of=reprocess_of,
            expires_at=now + timedelta(days=self.settings.webhook_ledger_retention_days),
            received_key=sortable_key(now, oid),
        )

    async def reject(self, body: str, headers: dict[str, str], why: str) -> None:
        """Record a delivery refused at the edge (never processed)."""
        await self.entry(
            body, headers, "stripe", signature_valid=False, outcome="rejected", detail=why
        ).insert()
        WEBHOOK_OUTCOMES.labels("rejected").inc()

    async def finish(
        self,
        delivery: WebhookDelivery,
        started: float,
        outcome: str,
        detail: str | None = None,
        error: str | None = None,
    ) -> None:
        """Write how a recorded delivery ended (`started`: its `time.perf_counter()` start)."""
        # Strings and numbers only: a top-level datetime written by $set would be stored as a string.
        update: dict[str, Any] = {
            "outcome": outcome,
            "detail": detail,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        }
        if error is not None:
            update["error"] = error
            update["traceback"] = traceback.format_exc()[-8000:]
        await store.update_one(WebhookDelivery, {"_id": delivery.id}, {"$set": update})
        WEBHOOK_OUTCOMES.labels(outcome).inc()

    async def processed(self, event_id: str) -> bool:
        """Whether the event was processed before (a redelivery: nothing to do)."""
        return await ProcessedStripeEvent.find_one(ProcessedStripeEvent.event_id == event_id) is not None

    async def mark_processed(self, event_id: str, event_type: str, outcome: str) -> None:
        # A concurrent delivery of the same event may have recorded it first.
        with contextlib.suppress(DuplicateKeyError):
            await ProcessedStripeEvent(
                event_id=event_id, type=event_type, outcome=outcome, processed_at=self.clock.now()
            ).insert()
