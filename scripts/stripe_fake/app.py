"""A small local stand-in for the Stripe endpoints the platform calls, answered with Stripe's own shapes.

The real `stripe` SDK talks to it (its `api` base address points here). Objects are Stripe's example
objects (`fixtures.json`, copied from stripe/openapi) with ids, status, amounts and times overridden. It covers
Billing (customers, Checkout subscriptions, the billing portal; this module), Connect Express accounts and
their onboarding (connect.py), destination-charge payments with PaymentIntents (payments.py, pay_page.py) and
their refunds (refunds.py), and the event list. Besides the API it has what Stripe's dashboard, hosted pages
and its own machinery would do, under `/_fake/...`: complete a checkout, change, cancel or fail a
subscription, finish or restrict onboarding, confirm a payment. Every action records the events Stripe would
send, signed with Stripe's real scheme: subscription and checkout events are delivered when a control call
asks `deliver`; Connect and payment events always, by the delivery worker (delivery.py).
"""

import copy
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from scripts.stripe_fake import connect, pay_page, payments, refunds
from scripts.stripe_fake.api import api
from scripts.stripe_fake.delivery import SweepAfterResponse, WebhookSender, post_signed
from scripts.stripe_fake.wire import API_VERSION, Json, fixture, new_id, public, stripe_error

PERIOD_SECONDS = 30 * 24 * 3600
# Prices the fake knows an amount for; any other `price_…` id is accepted at 1,000 minor units.
AMOUNTS = {"price_basic_monthly": 1900, "price_pro_monthly": 4900, "price_premium_monthly": 9900}


@dataclass
class FakeStripe:
    public_url: str
    webhook_url: str | None = None
    webhook_secret: str | None = None
    state_file: Path | None = None
    objects: dict[str, Json] = field(default_factory=dict)  # every object by id
    events: list[Json] = field(default_factory=list)  # oldest first
    idempotent: dict[str, Json] = field(default_factory=dict)  # "path key" → the params and the answer
    request_context: Json | None = None  # the API request being handled, which its events name

    def __post_init__(self) -> None:
        if self.state_file is not None and self.state_file.exists():
            saved = json.loads(self.state_file.read_text())
            self.objects, self.events = saved["objects"], saved["events"]

    def save(self) -> None:
        if self.state_file is not None:
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            self.state_file.write_text(json.dumps({"objects": self.objects, "events": self.events}))

    def put(self, obj: Json) -> Json:
        self.objects[obj["id"]] = obj
        return obj

    def get(self, obj_id: str, kind: str) -> Json | None:
        obj: Json | None = self.objects.get(obj_id)
        return obj if obj is not None and obj.get("object") == kind else None

    # --- objects, shaped from Stripe's fixtures -------------------------------------------------------

    def customer(self, params: Json) -> Json:
        obj = fixture("customer")
        obj.update(
            id=new_id("cus"),
            created=int(time.time()),
            email=params.get("email"),
            name=params.get("name"),
            metadata=params.get("metadata", {}),
            discount=None,
        )
        return self.put(obj)

    def price(self, price_id: str) -> Json:
        obj: Json = fixture("price")
        amount = AMOUNTS.get(price_id, 1000)
        obj.update(
            id=price_id, unit_amount=amount, unit_amount_decimal=str(amount), product="prod_marketplace"
        )
        obj["transform_quantity"] = None
        return obj

    def checkout_session(self, params: Json) -> Json:
        items = params.get("line_items") or []
        obj = fixture("checkout.session")
        session_id = new_id("cs_test")
        obj.update(
            id=session_id,
            created=int(time.time()),
            expires_at=int(time.time()) + 24 * 3600,
            mode=params.get("mode", "payment"),
            customer=params.get("customer"),
            client_reference_id=params.get("client_reference_id"),
            metadata=params.get("metadata", {}),
            success_url=params.get("success_url"),
            cancel_url=params.get("cancel_url"),
            status="open",
            payment_status="unpaid",
            payment_intent=None,
            subscription=None,
            url=f"{self.public_url}/checkout/{session_id}",
        )
        # Not part of Stripe's session object: what the fake needs to create the subscription later.
        obj["_line_items"] = items
        obj["_subscription_metadata"] = (params.get("subscription_data") or {}).get("metadata", {})
        return self.put(obj)

    def portal_session(self, params: Json) -> Json:
        obj = fixture("billing_portal.session")
        session_id = new_id("bps")
        obj.update(
            id=session_id,
            created=int(time.time()),
            customer=params.get("customer"),
            return_url=params.get("return_url"),
            flow=None,
            livemode=False,
            url=f"{self.public_url}/portal/{session_id}",
        )
        return self.put(obj)

    def subscription(self, session: Json) -> Json:
        now = int(time.time())
        sub_id = new_id("sub")
        price_id = session["_line_items"][0]["price"]
        obj = fixture("subscription")
        obj.update(
            id=sub_id,
            customer=session["customer"],
            status="active",
            created=now,
            start_date=now,
            billing_cycle_anchor=now,
            cancel_at=None,
            canceled_at=None,
            ended_at=None,
            cancel_at_period_end=False,
            trial_start=None,
            trial_end=None,
            pause_collection=None,
            pending_update=None,
            metadata=session["_subscription_metadata"],
            discounts=[],
        )
        item = fixture("subscription_item")
        item.update(
            id=new_id("si"),
            created=now,
            subscription=sub_id,
            price=self.price(price_id),
            current_period_start=now,
            current_period_end=now + PERIOD_SECONDS,
        )
        obj["items"] = {
            "object": "list",
            "data": [item],
            "has_more": False,
            "url": f"/v1/subscription_items?subscription={sub_id}",
        }
        return self.put(obj)

    def invoice(self, sub: Json, paid: bool) -> Json:
        now = int(time.time())
        obj = fixture("invoice")
        amount = sub["items"]["data"][0]["price"]["unit_amount"]
        obj.update(
            id=new_id("in"),
            created=now,
            customer=sub["customer"],
            status="paid" if paid else "open",
            amount_due=amount,
            amount_paid=amount if paid else 0,
            amount_remaining=0 if paid else amount,
            attempted=True,
            attempt_count=1,
            billing_reason="subscription_cycle",
            parent={
                "type": "subscription_details",
                "quote_details": None,
                "subscription_details": {"metadata": sub["metadata"], "subscription": sub["id"]},
            },
        )
        sub["latest_invoice"] = obj["id"]
        return self.put(obj)

    def event(self, kind: str, obj: Json, previous: Json | None = None, account: str | None = None) -> Json:
        """Record what Stripe would send; `account` for the events of a connected account (Connect)."""
        event: Json = fixture("event")
        data: Json = {"object": copy.deepcopy(public(obj))}
        if previous is not None:
            data["previous_attributes"] = previous
        event.update(
            id=new_id("evt"),
            created=int(time.time()),
            type=kind,
            data=data,
            api_version=API_VERSION,
            pending_webhooks=1,
            request=dict(self.request_context or {"id": new_id("req"), "idempotency_key": None}),
        )
        if account is not None:
            event["account"] = account
        self.events.append(event)
        return event

    # --- what Stripe does when a customer pays, changes plan, cancels, or a charge fails ------------

    def complete_checkout(self, session: Json) -> list[Json]:
        if session["status"] != "open":
            return []
        sub = self.subscription(session)
        invoice = self.invoice(sub, paid=True)
        session.update(
            status="complete", payment_status="paid", subscription=sub["id"], invoice=invoice["id"]
        )
        return [
            self.event("customer.subscription.created", sub),
            self.event("checkout.session.completed", public(session)),
            self.event("invoice.paid", invoice),
        ]

    def update_subscription(self, sub: Json, changes: Json) -> list[Json]:
        previous: Json = {}
        if "price" in changes:
            item = sub["items"]["data"][0]
            previous["items"] = copy.deepcopy(sub["items"])
            item["price"] = self.price(changes["price"])
        for key in ("cancel_at_period_end", "status"):
            if key in changes and changes[key] != sub[key]:
                previous[key] = sub[key]
                sub[key] = changes[key]
        if "cancel_at_period_end" in previous:
            period_end = sub["items"]["data"][0]["current_period_end"]
            sub["cancel_at"] = period_end if sub["cancel_at_period_end"] else None
            sub["canceled_at"] = int(time.time()) if sub["cancel_at_period_end"] else None
        return [self.event("customer.subscription.updated", sub, previous)]

    def cancel_subscription(self, sub: Json) -> list[Json]:
        if sub["status"] == "canceled":
            return []
        now = int(time.time())
        sub.update(status="canceled", canceled_at=sub["canceled_at"] or now, ended_at=now)
        return [self.event("customer.subscription.deleted", sub)]

    def payment(self, sub: Json, paid: bool) -> list[Json]:
        invoice = self.invoice(sub, paid=paid)
        status = "active" if paid else "past_due"
        events = [self.event("invoice.paid" if paid else "invoice.payment_failed", invoice)]
        if sub["status"] != status:
            events += self.update_subscription(sub, {"status": status})
        return events

    async def deliver(self, events: list[Json]) -> list[int]:
        """POST each event to the webhook target, signed the way Stripe signs (`Stripe-Signature`)."""
        if not self.webhook_url or not self.webhook_secret:
            return []
        statuses = []
        async with httpx.AsyncClient(timeout=30) as client:
            for event in events:
                response = await post_signed(client, self.webhook_url, self.webhook_secret, event)
                statuses.append(response.status_code)
        return statuses


def create_app(fake: FakeStripe) -> Starlette:
    delivery = WebhookSender(fake)
    app = Starlette(
        routes=[
            *billing_routes(fake),
            *connect.routes(fake),
            *payments.routes(fake),
            *refunds.routes(fake),
            *pay_page.routes(fake),
            *delivery.routes(),
            Route("/healthz", lambda _: JSONResponse({"status": "ok"}), methods=["GET"]),
        ],
        lifespan=delivery.running,
    )
    app.add_middleware(SweepAfterResponse, delivery=delivery)
    return app


def billing_routes(fake: FakeStripe) -> list[Route]:
    def found(obj: Json | None, what: str, obj_id: str) -> Response:
        if obj is None:
            return stripe_error(404, f"No such {what}: '{obj_id}'")
        return JSONResponse(public(obj))

    async def create_customer(_: Request, params: Json) -> Response:
        return JSONResponse(fake.customer(params))

    async def get_customer(request: Request, _: Json) -> Response:
        obj_id = request.path_params["id"]
        return found(fake.get(obj_id, "customer"), "customer", obj_id)

    async def create_checkout(_: Request, params: Json) -> Response:
        items = params.get("line_items")
        if params.get("mode") != "subscription" or not items or not str(items[0].get("price", "")):
            return stripe_error(
                400, "mode=subscription and line_items[0][price] are required.", "parameter_missing"
            )
        if params.get("customer") and fake.get(params["customer"], "customer") is None:
            return stripe_error(400, f"No such customer: '{params['customer']}'")
        return JSONResponse(public(fake.checkout_session(params)))

    async def get_checkout(request: Request, _: Json) -> Response:
        obj_id = request.path_params["id"]
        return found(fake.get(obj_id, "checkout.session"), "checkout.session", obj_id)

    async def create_portal(_: Request, params: Json) -> Response:
        if fake.get(str(params.get("customer")), "customer") is None:
            return stripe_error(400, f"No such customer: '{params.get('customer')}'")
        return JSONResponse(fake.portal_session(params))

    async def get_subscription(request: Request, _: Json) -> Response:
        obj_id = request.path_params["id"]
        return found(fake.get(obj_id, "subscription"), "subscription", obj_id)

    async def delete_subscription(request: Request, _: Json) -> Response:
        sub = fake.get(request.path_params["id"], "subscription")
        if sub is None:
            return stripe_error(404, f"No such subscription: '{request.path_params['id']}'")
        fake.cancel_subscription(sub)
        return JSONResponse(sub)

    async def list_events(request: Request, _: Json) -> Response:
        query = request.query_params
        since = int(query.get("created[gte]", 0))
        newest_first = [e for e in reversed(fake.events) if e["created"] >= since]
        if "type" in query:
            newest_first = [e for e in newest_first if e["type"] == query["type"]]
        if "starting_after" in query:
            ids = [e["id"] for e in newest_first]
            after = query["starting_after"]
            newest_first = newest_first[ids.index(after) + 1 :] if after in ids else []
        limit = min(int(query.get("limit", 10)), 100)
        page = newest_first[:limit]
        return JSONResponse(
            {"object": "list", "data": page, "has_more": len(newest_first) > limit, "url": "/v1/events"}
        )

    async def get_event(request: Request, _: Json) -> Response:
        obj_id = request.path_params["id"]
        event = next((e for e in fake.events if e["id"] == obj_id), None)
        return found(event, "event", obj_id)

    # --- control: what a customer or Stripe's own machinery would do --------------------------------

    async def controlled(request: Request, events: list[Json]) -> Response:
        body = await _json(request)
        fake.save()
        delivered = await fake.deliver(events) if body.get("deliver", False) else []
        return JSONResponse({"events": events, "delivered": delivered})

    async def control_complete(request: Request) -> Response:
        session = fake.get(request.path_params["id"], "checkout.session")
        if session is None:
            return stripe_error(404, "No such checkout session")
        return await controlled(request, fake.complete_checkout(session))

    async def control_subscription(request: Request) -> Response:
        sub = fake.get(request.path_params["id"], "subscription")
        if sub is None:
            return stripe_error(404, "No such subscription")
        action = request.path_params["action"]
        body = await _json(request)
        if action == "update":
            changes: Json = {k: body[k] for k in ("price", "cancel_at_period_end", "status") if k in body}
            events = fake.update_subscription(sub, changes)
        elif action == "cancel":
            events = fake.cancel_subscription(sub)
        elif action in ("payment_failed", "payment_succeeded"):
            events = fake.payment(sub, paid=action == "payment_succeeded")
        else:
            return stripe_error(404, f"Unknown action {action}")
        return await controlled(request, events)

    # --- the hosted pages, so the flow also works from a browser ------------------------------------

    async def checkout_page(request: Request) -> Response:
        session = fake.get(request.path_params["id"], "checkout.session")
        if session is None:
            return HTMLResponse("<h1>Unknown checkout session</h1>", status_code=404)
        if request.method == "POST":
            events = fake.complete_checkout(session)
            fake.save()
            await fake.deliver(events)
            return RedirectResponse(str(session["success_url"]), status_code=303)
        price = session["_line_items"][0]["price"]
        return HTMLResponse(
            f"<h1>Test checkout</h1><p>Subscribe to <code>{price}</code> (local Stripe stand-in).</p>"
            f'<form method="post"><button>Pay</button></form>'
        )

    async def portal_page(request: Request) -> Response:
        portal = fake.get(request.path_params["id"], "billing_portal.session")
        if portal is None:
            return HTMLResponse("<h1>Unknown portal session</h1>", status_code=404)
        return HTMLResponse(
            "<h1>Test billing portal</h1><p>Change plans with "
            "<code>.venv/bin/python -m scripts.stripe_dev update SUBSCRIPTION_ID --price PRICE</code> (from the "
            "repo root).</p>"
            f'<p><a href="{portal["return_url"]}">Back</a></p>'
        )

    return [
        Route("/v1/customers", api(fake, create_customer), methods=["POST"]),
        Route("/v1/customers/{id}", api(fake, get_customer), methods=["GET"]),
        Route("/v1/checkout/sessions", api(fake, create_checkout), methods=["POST"]),
        Route("/v1/checkout/sessions/{id}", api(fake, get_checkout), methods=["GET"]),
        Route("/v1/billing_portal/sessions", api(fake, create_portal), methods=["POST"]),
        Route("/v1/subscriptions/{id}", api(fake, get_subscription), methods=["GET"]),
        Route("/v1/subscriptions/{id}", api(fake, delete_subscription), methods=["DELETE"]),
        Route("/v1/events", api(fake, list_events), methods=["GET"]),
        Route("/v1/events/{id}", api(fake, get_event), methods=["GET"]),
        Route("/_fake/checkout/{id}/complete", control_complete, methods=["POST"]),
        Route("/_fake/subscriptions/{id}/{action}", control_subscription, methods=["POST"]),
        Route("/checkout/{id}", checkout_page, methods=["GET", "POST"]),
        Route("/portal/{id}", portal_page, methods=["GET"]),
    ]


async def _json(request: Request) -> Json:
    raw = await request.body()
    body: Any = json.loads(raw) if raw else {}
    return body if isinstance(body, dict) else {}
