"""Payments with destination charges: PaymentIntents created, confirmed with Stripe's test cards, captured or
canceled (the charge, transfer and application fee they make are in charges.py, refunds in refunds.py, the
hosted pay page in pay_page.py)."""

import re
import secrets
import time
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from scripts.stripe_fake.api import Resource, page, resource
from scripts.stripe_fake.charges import (
    TEST_CARDS,
    Card,
    destination_of,
    money,
    new_application_fee,
    new_charge,
    new_transfer,
)
from scripts.stripe_fake.wire import (
    Json,
    StripeError,
    choice,
    fixture,
    integer,
    missing,
    new_id,
    no_such,
    public,
)

if TYPE_CHECKING:
    from scripts.stripe_fake.app import FakeStripe

# Stripe's minimum and maximum charge amounts (docs: "Minimum and maximum charge amounts"), in minor units:
# 0.30 GBP, 0.50 EUR / USD, 50 of the others here; at most eight digits.
MINIMUM_AMOUNT = {"gbp": 30, "eur": 50, "usd": 50}
DEFAULT_MINIMUM_AMOUNT = 50
MAXIMUM_AMOUNT = 99_999_999
CONFIRMABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
CAPTURABLE = ("requires_capture",)
CANCELABLE = (
    "requires_payment_method",
    "requires_capture",
    "requires_confirmation",
    "requires_action",
    "processing",
)
CANCELLATION_REASONS = ("duplicate", "fraudulent", "requested_by_customer", "abandoned")


# --- create -----------------------------------------------------------------------------------------------


def create_intent(fake: "FakeStripe", params: Json) -> Json:
    amount, currency = _amount(params), _currency(params)
    destination = (params.get("transfer_data") or {}).get("destination")
    fee = _application_fee(params, amount, destination)
    if destination:
        check_destination(fake, str(destination))
    capture_method = choice(params, "capture_method", ("automatic", "automatic_async", "manual"), "automatic")
    intent_id = new_id("pi")
    obj = fixture("payment_intent")
    automatic = str((params.get("automatic_payment_methods") or {}).get("enabled", "")).lower() == "true"
    obj.update(
        id=intent_id,
        amount=amount,
        amount_capturable=0,
        amount_received=0,
        application_fee_amount=fee,
        automatic_payment_methods={"allow_redirects": "always", "enabled": True} if automatic else None,
        canceled_at=None,
        cancellation_reason=None,
        capture_method=capture_method,
        client_secret=f"{intent_id}_secret_{secrets.token_urlsafe(18)}",
        created=int(time.time()),
        currency=currency,
        customer=params.get("customer"),
        description=params.get("description"),
        last_payment_error=None,
        latest_charge=None,
        metadata=params.get("metadata", {}),
        next_action=None,
        payment_method=None,
        payment_method_configuration_details=None,
        payment_method_options={
            "card": {"installments": None, "network": None, "request_three_d_secure": "automatic"}
        },
        processing=None,
        receipt_email=params.get("receipt_email"),
        shipping=None,
        status="requires_payment_method",
        transfer_data={"destination": destination} if destination else None,
        transfer_group=params.get("transfer_group"),
        managed_payments={"enabled": False},
    )
    fake.put(obj)
    fake.event("payment_intent.created", obj)
    return obj


def _amount(params: Json) -> int:
    amount = integer(params, "amount")
    if amount is None:
        raise missing("amount")
    currency = str(params.get("currency") or "usd").lower()
    minimum = MINIMUM_AMOUNT.get(currency, DEFAULT_MINIMUM_AMOUNT)
    if amount < minimum:
        raise StripeError(
            400, f"Amount must be at least {money(minimum, currency)}", "amount_too_small", "amount"
        )
    if amount > MAXIMUM_AMOUNT:
        raise StripeError(
            400,
            f"Amount must be no more than {money(MAXIMUM_AMOUNT, currency)}",
            "amount_too_large",
            "amount",
        )
    return amount


def _currency(params: Json) -> str:
    currency = str(params.get("currency") or "")
    if not currency:
        raise missing("currency")
    if not re.fullmatch(r"[A-Za-z]{3}", currency):
        raise StripeError(
            400, f"Invalid currency: {currency.lower()}.", "parameter_invalid_string", "currency"
        )
    return currency.lower()


def _application_fee(params: Json, amount: int, destination: object) -> int | None:
    fee = integer(params, "application_fee_amount")
    if fee is None:
        return None
    if not destination:
        raise StripeError(
            400,
            "Can only apply an application_fee_amount when the PaymentIntent is attempting a direct payment "
            "(using an OAuth key or Stripe-Account header) or destination payment (using "
            "`transfer_data[destination]`).",
            param="application_fee_amount",
        )
    if fee < 0 or fee > amount:
        raise StripeError(
            400,
            f"The application_fee_amount ({fee}) must be between 0 and the amount of the payment ({amount}).",
            "parameter_invalid_integer",
            "application_fee_amount",
        )
    return fee


def check_destination(fake: "FakeStripe", destination: str) -> None:
    account = fake.get(destination, "account")
    if account is None:
        raise no_such("destination", destination, "transfer_data[destination]", status=400)
    if account["capabilities"].get("transfers") != "active" or not account["charges_enabled"]:
        raise StripeError(
            400,
            "Your destination account needs to have at least one of the following capabilities enabled: "
            "transfers, crypto_transfers, legacy_payments",
            "insufficient_capabilities_for_transfer",
            "transfer_data[destination]",
        )


# --- confirm, capture, cancel -----------------------------------------------------------------------------


def unexpected_state(intent: Json, verb: str, past: str, allowed: tuple[str, ...]) -> StripeError:
    return StripeError(
        400,
        f"You cannot {verb} this PaymentIntent because it has a status of {intent['status']}. Only a "
        f"PaymentIntent with one of the following statuses may be {past}: {', '.join(allowed)}.",
        "payment_intent_unexpected_state",
        payment_intent=public(intent),
    )


def confirm(fake: "FakeStripe", intent: Json, payment_method: str) -> Json | None:
    """The customer pays with one of Stripe's test cards; returns the card error when it is declined."""
    if intent["status"] not in CONFIRMABLE:
        raise unexpected_state(intent, "confirm", "confirmed", CONFIRMABLE)
    card = TEST_CARDS.get(payment_method)
    if card is None:
        raise no_such("PaymentMethod", payment_method, "payment_method", status=400)
    intent["payment_method"] = new_id("pm")
    charge = new_charge(fake, intent, card)
    intent.update(latest_charge=charge["id"], last_payment_error=None)
    if card.decline_code is not None:
        return decline(fake, intent, charge, card)
    if intent["capture_method"] == "manual":
        intent.update(status="requires_capture", amount_capturable=intent["amount"])
        fake.event("charge.succeeded", charge)
        fake.event("payment_intent.amount_capturable_updated", intent)
        return None
    # Captured at once: Stripe sends charge.succeeded with the captured charge (no charge.captured).
    moved = settle(fake, intent, charge, intent["amount"], intent["application_fee_amount"])
    fake.event("charge.succeeded", charge)
    fake.event("payment_intent.succeeded", intent)
    for kind, obj in moved:
        fake.event(kind, obj)
    return None


def decline(fake: "FakeStripe", intent: Json, charge: Json, card: Card) -> Json:
    error = {
        "charge": charge["id"],
        "code": "card_declined",
        "decline_code": card.decline_code,
        "doc_url": "https://stripe.com/docs/error-codes/card-declined",
        "message": card.message,
        "payment_method": {"id": intent["payment_method"], "object": "payment_method", "type": "card"},
        "type": "card_error",
    }
    charge.update(status="failed", paid=False, failure_code="card_declined", failure_message=card.message)
    charge["outcome"].update(
        network_status="declined_by_network",
        reason=card.decline_code,
        seller_message="The bank did not return any further details with this decline.",
        type="issuer_declined",
    )
    intent.update(status="requires_payment_method", payment_method=None, last_payment_error=error)
    fake.event("charge.failed", charge)
    fake.event("payment_intent.payment_failed", intent)
    return error


def capture(fake: "FakeStripe", intent: Json, params: Json) -> None:
    if intent["status"] not in CAPTURABLE:
        raise unexpected_state(intent, "capture", "captured", CAPTURABLE)
    capturable = intent["amount_capturable"]
    amount = integer(params, "amount_to_capture", capturable) or 0
    if not 0 < amount <= capturable:
        raise StripeError(
            400,
            f"The amount_to_capture ({amount}) must be greater than 0 and at most the amount capturable "
            f"({capturable}).",
            "amount_too_large",
            "amount_to_capture",
        )
    fee = integer(params, "application_fee_amount")
    if fee is not None:
        _application_fee({"application_fee_amount": fee}, amount, destination_of(intent))
        intent["application_fee_amount"] = fee
    charge = fake.objects[intent["latest_charge"]]
    moved = settle(fake, intent, charge, amount, intent["application_fee_amount"])
    fake.event("charge.captured", charge)
    fake.event("payment_intent.succeeded", intent)
    for kind, obj in moved:
        fake.event(kind, obj)


def settle(
    fake: "FakeStripe", intent: Json, charge: Json, amount: int, fee: int | None
) -> list[tuple[str, Json]]:
    """Capture `amount` of the charge; for a destination charge, move it to the connected account and take the
    application fee back (capped at what was captured). Returns the new transfer and fee, for their events."""
    # As at Stripe, what a partial capture leaves uncaptured is released and counted in amount_refunded.
    charge.update(
        captured=True,
        amount_captured=amount,
        amount_refunded=charge["amount"] - amount,
        balance_transaction=new_id("txn"),
    )
    intent.update(status="succeeded", amount_received=amount, amount_capturable=0)
    destination = destination_of(charge)
    if destination is None:
        return []
    transfer = new_transfer(fake, charge, destination, amount)
    charge["transfer"] = transfer["id"]
    moved = [("transfer.created", transfer)]
    if fee:
        application_fee = new_application_fee(fake, charge, destination, min(fee, amount))
        charge.update(application_fee=application_fee["id"], application_fee_amount=application_fee["amount"])
        moved.append(("application_fee.created", application_fee))
    return moved


def cancel(fake: "FakeStripe", intent: Json, params: Json) -> None:
    if intent["status"] not in CANCELABLE:
        raise unexpected_state(intent, "cancel", "canceled", CANCELABLE)
    reason = choice(params, "cancellation_reason", CANCELLATION_REASONS)
    if intent["status"] == "requires_capture":
        # The authorization is released: Stripe shows the uncaptured charge as refunded (no Refund object).
        charge = fake.objects[intent["latest_charge"]]
        charge.update(refunded=True, amount_refunded=charge["amount"])
    intent.update(
        status="canceled", amount_capturable=0, canceled_at=int(time.time()), cancellation_reason=reason
    )
    fake.event("payment_intent.canceled", intent)


# --- API ----------------------------------------------------------------------------------------------------


def payment_intent(fake: "FakeStripe", intent_id: str) -> Json:
    intent = fake.get(intent_id, "payment_intent")
    if intent is None:
        raise no_such("payment_intent", intent_id)
    return intent


def create_payment_intent(fake: "FakeStripe", _: Request, params: Json) -> Json:
    return create_intent(fake, params)


def get_payment_intent(fake: "FakeStripe", request: Request, _: Json) -> Json:
    return payment_intent(fake, request.path_params["id"])


def confirm_payment_intent(fake: "FakeStripe", request: Request, params: Json) -> Json:
    intent = payment_intent(fake, request.path_params["id"])
    error = confirm(fake, intent, str(params.get("payment_method") or "pm_card_visa"))
    if error is not None:
        # A server-side confirm answers a decline as Stripe does: 402 with the card error and the PaymentIntent.
        raise StripeError(
            402,
            str(error["message"]),
            "card_declined",
            kind="card_error",
            decline_code=error["decline_code"],
            charge=error["charge"],
            doc_url=error["doc_url"],
            payment_intent=public(intent),
        )
    return intent


def capture_payment_intent(fake: "FakeStripe", request: Request, params: Json) -> Json:
    intent = payment_intent(fake, request.path_params["id"])
    capture(fake, intent, params)
    return intent


def cancel_payment_intent(fake: "FakeStripe", request: Request, params: Json) -> Json:
    intent = payment_intent(fake, request.path_params["id"])
    cancel(fake, intent, params)
    return intent


def getter(kind: str) -> Resource:
    def get(fake: "FakeStripe", request: Request, _: Json) -> Json:
        obj = fake.get(request.path_params["id"], kind)
        if obj is None:
            raise no_such(kind, request.path_params["id"])
        return obj

    return get


# --- control: what the app's Payment Element does with the client secret ------------------------------------


async def control_confirm(fake: "FakeStripe", request: Request) -> Response:
    body = await request.json() if await request.body() else {}
    start = len(fake.events)
    try:
        intent = payment_intent(fake, request.path_params["id"])
        error = confirm(fake, intent, str(body.get("payment_method") or "pm_card_visa"))
    except StripeError as exc:
        return exc.response()
    fake.save()
    # Like Stripe.js's confirmPayment, a decline is an answer, not a failure: `error` beside the PaymentIntent.
    return JSONResponse({"payment_intent": public(intent), "error": error, "events": fake.events[start:]})


def routes(fake: "FakeStripe") -> list[Route]:
    return [
        Route("/v1/payment_intents", resource(fake, create_payment_intent), methods=["POST"]),
        Route("/v1/payment_intents/{id}", resource(fake, get_payment_intent), methods=["GET"]),
        Route("/v1/payment_intents/{id}/confirm", resource(fake, confirm_payment_intent), methods=["POST"]),
        Route("/v1/payment_intents/{id}/capture", resource(fake, capture_payment_intent), methods=["POST"]),
        Route("/v1/payment_intents/{id}/cancel", resource(fake, cancel_payment_intent), methods=["POST"]),
        Route("/v1/charges/{id}", resource(fake, getter("charge")), methods=["GET"]),
        Route("/v1/transfers/{id}", resource(fake, getter("transfer")), methods=["GET"]),
        Route("/v1/application_fees/{id}", resource(fake, getter("application_fee")), methods=["GET"]),
        Route("/_fake/payment_intents/{id}/confirm", page(fake, control_confirm), methods=["POST"]),
    ]
