"""Re-fetch Stripe's events since a time and feed them through the webhook handler (the same code path).

    python -m scripts.stripe_replay --since 2026-11-24T00:00:00Z [--force] [--type invoice.payment_failed]

For recovery after an outage or a bug: events already processed are answered as duplicates unless --force
(which is safe too: the handler re-reads each subscription, payment or connected account from Stripe and
applies each change once). Every event type the platform handles is replayed: the payments domain's reducers
are attached to the handler here as in the platform process.
"""

import argparse
import asyncio
import sys
from collections import Counter
from datetime import UTC, datetime

from platform_api.billing.stripe_api import stripe_client
from platform_api.billing.webhook import StripeWebhook
from platform_api.config import Settings
from platform_api.payments import reducer as payment_reducers
from shared_models.clock import SystemClock
from shared_models.runtime.registry import connect, init_models


async def replay(settings: Settings, since: datetime, force: bool, event_type: str | None) -> Counter[str]:
    client = connect(settings.mongodb_uri, settings.mongodb_timeout_ms)
    stripe = stripe_client(settings)
    webhook = StripeWebhook(settings, stripe, SystemClock())
    payment_reducers.attach(webhook)  # else payment and account events are marked processed as ignored
    outcomes: Counter[str] = Counter()
    try:
        await init_models(client, settings.mongodb_db)
        params: dict[str, object] = {"created": {"gte": int(since.timestamp())}, "limit": 100}
        if event_type:
            params["type"] = event_type
        page = await stripe.v1.events.list_async(params=params)  # type: ignore[arg-type]
        events = [event.to_dict() async for event in page.auto_paging_iter()]
        for event in reversed(events):  # Stripe lists newest first; replay oldest first
            outcome = await webhook.ingest(event, source="replay", force=force)
            outcomes[outcome.status] += 1
            print(f"{event['id']}  {event['type']:<32} {outcome.status}  {outcome.detail or ''}")
    finally:
        await client.close()
    return outcomes


def _when(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--since", type=_when, required=True, help="ISO time, e.g. 2026-11-24T00:00:00Z")
    parser.add_argument("--force", action="store_true", help="also re-handle events already processed")
    parser.add_argument("--type", dest="event_type", help="only this event type")
    args = parser.parse_args(argv)
    try:
        outcomes = asyncio.run(replay(Settings(), args.since, args.force, args.event_type))
    except Exception as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print("replayed: " + (", ".join(f"{n} {status}" for status, n in sorted(outcomes.items())) or "nothing"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
