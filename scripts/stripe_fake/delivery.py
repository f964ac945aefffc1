"""Stripe sending webhooks on its own: every Connect and payment event is posted, signed, by one worker in
the order created, after the API answer, retried a few times; tests may hold the events or wait for the queue.

The subscription and checkout events keep their older rule: sent only when a control call asks `deliver`.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from scripts.stripe_fake.signing import signature_header
from scripts.stripe_fake.wire import Json

if TYPE_CHECKING:
    from scripts.stripe_fake.app import FakeStripe

AUTO_FAMILIES = ("account.", "payment_intent.", "charge.", "refund.", "transfer.", "application_fee.")
# Waits before the 2nd, 3rd and 4th attempt; Stripe's own backoff is hours, which no test could wait for.
RETRY_DELAYS = (0.2, 0.5, 1.0)


async def post_signed(client: httpx.AsyncClient, url: str, secret: str, event: Json) -> httpx.Response:
    """POST one event the way Stripe does: the JSON body signed in `Stripe-Signature`."""
    payload = json.dumps(event)
    return await client.post(
        url,
        content=payload,
        headers={
            "Content-Type": "application/json",
            "Stripe-Signature": signature_header(payload, secret),
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        },
    )


@dataclass
class WebhookSender:
    fake: "FakeStripe"
    held: bool = False
    kept: list[Json] = field(default_factory=list)  # events created while held, oldest first
    log: list[Json] = field(default_factory=list)  # one entry per event attempted, in sending order
    queue: "asyncio.Queue[Json]" = field(default_factory=asyncio.Queue)
    _swept: int = 0  # how much of the fake's event log has been handed over
    _reported: int = 0  # how much of `log` the last flush returned

    def __post_init__(self) -> None:
        self._swept = len(self.fake.events)  # what a state file brought back was delivered in its own run

    @property
    def has_target(self) -> bool:
        return bool(self.fake.webhook_url and self.fake.webhook_secret)

    def sweep(self) -> None:
        """Hand the events created since the last sweep to the worker (or keep them, while held)."""
        new = self.fake.events[self._swept :]
        self._swept = len(self.fake.events)
        for event in new:
            if not event["type"].startswith(AUTO_FAMILIES):
                continue
            if self.held:
                self.kept.append(event)
            elif self.has_target:
                self.queue.put_nowait(event)

    def take_held(self) -> list[Json]:
        self.sweep()
        taken, self.kept = self.kept, []
        return taken

    async def flush(self) -> list[Json]:
        """Wait until everything queued so far was attempted; what was sent since the last flush."""
        self.sweep()
        await self.queue.join()
        report = self.log[self._reported :]
        self._reported = len(self.log)
        return report

    async def run(self) -> None:
        async with httpx.AsyncClient(timeout=10) as client:
            while True:
                event = await self.queue.get()
                try:
                    self.log.append(await self._send(client, event))
                finally:
                    self.queue.task_done()

    async def _send(self, client: httpx.AsyncClient, event: Json) -> Json:
        entry: dict[str, Any] = {
            "event_id": event["id"],
            "type": event["type"],
            "status": None,
            "attempts": 0,
        }
        for delay in (0.0, *RETRY_DELAYS):
            await asyncio.sleep(delay)
            entry["attempts"] += 1
            try:
                response = await post_signed(
                    client, str(self.fake.webhook_url), str(self.fake.webhook_secret), event
                )
            except httpx.HTTPError as exc:
                entry.update(status=None, error=f"{type(exc).__name__}: {exc}"[:200])
                continue
            entry.update(status=response.status_code, error=None)
            if response.is_success:
                break
        return entry

    @asynccontextmanager
    async def running(self, _: Starlette) -> AsyncIterator[None]:
        worker = asyncio.create_task(self.run())
        yield
        worker.cancel()
        with suppress(asyncio.CancelledError):
            await worker

    def routes(self) -> list[Route]:
        return [
            Route("/_fake/webhooks/hold", self.hold_endpoint, methods=["POST"]),
            Route("/_fake/webhooks/held", self.held_endpoint, methods=["GET"]),
            Route("/_fake/webhooks/flush", self.flush_endpoint, methods=["POST"]),
        ]

    async def hold_endpoint(self, request: Request) -> Response:
        body = json.loads(await request.body() or b"{}")
        self.sweep()  # what was created before the switch follows the old setting
        self.held = bool(body.get("held", True))
        return JSONResponse({"held": self.held})

    async def held_endpoint(self, _: Request) -> Response:
        return JSONResponse({"events": self.take_held()})

    async def flush_endpoint(self, _: Request) -> Response:
        return JSONResponse({"delivered": await self.flush()})


class SweepAfterResponse:
    """ASGI middleware: once a request has been answered, its new events go to the delivery worker."""

    def __init__(self, app: ASGIApp, delivery: WebhookSender) -> None:
        self.app = app
        self.delivery = delivery

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            if scope["type"] == "http":
                self.delivery.sweep()
