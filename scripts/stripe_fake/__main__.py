"""Run the local Stripe stand-in: python -m scripts.stripe_fake --port 12111 [--webhook-url URL]."""

import argparse
import os
from pathlib import Path

import uvicorn

from scripts.stripe_fake.app import FakeStripe, create_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument(
        "--webhook-url",
        help="where events are delivered (Connect and payment events always, others when asked)",
    )
    parser.add_argument("--state-file", type=Path, help="keep objects and events between runs")
    args = parser.parse_args()
    fake = FakeStripe(
        public_url=f"http://127.0.0.1:{args.port}",
        webhook_url=args.webhook_url,
        # From the environment, never the command line (which any local user can read in `ps`).
        webhook_secret=os.environ.get("STRIPE_WEBHOOK_SECRET"),
        state_file=args.state_file,
    )
    uvicorn.run(create_app(fake), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
