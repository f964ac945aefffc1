"""Act as Stripe's customer-facing side against the local stand-in; the resulting events are signed and
delivered to the platform's webhook, exactly as Stripe would deliver them.

    .venv/bin/python -m scripts.stripe_dev complete SESSION_ID        # the provider paid at Checkout
    .venv/bin/python -m scripts.stripe_dev update SUB_ID --price price_pro_monthly
    .venv/bin/python -m scripts.stripe_dev update SUB_ID --cancel-at-period-end
    .venv/bin/python -m scripts.stripe_dev cancel SUB_ID              # ends it now (customer.subscription.deleted)
    .venv/bin/python -m scripts.stripe_dev payment-failed SUB_ID      # a renewal charge fails
"""

import argparse
import asyncio
import sys

from platform_api.config import Settings
from scripts.stripe_fake.control import change_subscription, complete_checkout


async def run(args: argparse.Namespace, api_base: str) -> list[dict[str, object]]:
    if args.command == "complete":
        return await complete_checkout(api_base, args.target, deliver=True)
    changes: dict[str, object] = {}
    if args.command == "update":
        if args.price:
            changes["price"] = args.price
        if args.cancel_at_period_end is not None:
            changes["cancel_at_period_end"] = args.cancel_at_period_end
    action = {"payment-failed": "payment_failed", "payment-succeeded": "payment_succeeded"}.get(
        args.command, args.command
    )
    return await change_subscription(api_base, args.target, action, deliver=True, **changes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "command", choices=["complete", "update", "cancel", "payment-failed", "payment-succeeded"]
    )
    parser.add_argument("target", help="checkout session id (complete) or subscription id")
    parser.add_argument("--price", help="update: the new price id")
    parser.add_argument(
        "--cancel-at-period-end", action=argparse.BooleanOptionalAction, default=None, help="update"
    )
    args = parser.parse_args(argv)
    settings = Settings()
    if not settings.stripe_api_base:
        print("STRIPE_API_BASE is unset: this command only drives the local Stripe stand-in", file=sys.stderr)
        return 2
    events = asyncio.run(run(args, settings.stripe_api_base))
    for event in events:
        print(f"{event['id']}  {event['type']}  (delivered to the platform's webhook)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
