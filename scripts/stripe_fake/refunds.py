"""Refunds of captured payments, with Stripe's pro-rata transfer reversal (`reverse_transfer`) and application
fee refund (`refund_application_fee`) for destination charges."""

import time
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from scripts.stripe_fake.api import api, resource
from scripts.stripe_fake.charges import money
from scripts.stripe_fake.wire import (
    Json,
    StripeError,
    choice,
    fixture,
    flag,
    integer,
    new_id,
    no_such,
    public,
)

if TYPE_CHECKING:
    from scripts.stripe_fake.app import FakeStripe

REASONS = ("duplicate", "fraudulent", "requested_by_customer")


def create_refund(fake: "FakeStripe", params: Json) -> Json:
    _, charge = refunded_payment(fake, params)
    amount = _amount(params, charge)
    reason = choice(params, "reason", REASONS)
    reverse = flag(params, "reverse_transfer")
    if reverse and not charge.get("transfer"):
        raise StripeError(400, "This charge has no transfer to reverse.", param="reverse_transfer")
    refund = new_refund(fake, charge, amount, reason, params.get("metadata", {}))
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] == charge["amount"]
    moved: list[tuple[str, Json]] = []
    if reverse:
        moved.append(("transfer.reversed", reverse_transfer(fake, charge, refund)))
    # Without an application fee there is nothing to refund: the flag is ignored, as platforms pass it always.
    if flag(params, "refund_application_fee") and charge.get("application_fee"):
        moved.append(("application_fee.refunded", refund_fee(fake, charge, refund)))
    charge["refunds"]["data"].insert(0, public(refund))
    charge["refunds"]["total_count"] += 1
    fake.event("refund.created", refund)
    fake.event("charge.refunded", charge)
    fake.event("refund.updated", refund)
    for kind, obj in moved:
        fake.event(kind, obj)
    return refund


def refunded_payment(fake: "FakeStripe", params: Json) -> tuple[Json, Json]:
    """The succeeded PaymentIntent and its charge that `payment_intent` or `charge` names."""
    intent_id, charge_id = params.get("payment_intent"), params.get("charge")
    if charge_id:
        charge = fake.get(str(charge_id), "charge")
        if charge is None:
            raise no_such("charge", charge_id, "charge", status=400)
        intent_id = intent_id or charge["payment_intent"]
    elif not intent_id:
        raise StripeError(
            400,
            "One of the following params should be provided for this request: payment_intent or charge.",
            "parameter_missing",
        )
    intent = fake.get(str(intent_id), "payment_intent")
    if intent is None:
        raise no_such("payment_intent", intent_id, "payment_intent", status=400)
    if intent["status"] == "requires_capture":
        raise StripeError(
            400,
            f"This PaymentIntent ({intent['id']}) has not been captured, so there is nothing to refund. Cancel the "
            "PaymentIntent instead to release the authorization.",
            "payment_intent_unexpected_state",
        )
    if intent["status"] != "succeeded":
        raise StripeError(
            400,
            f"This PaymentIntent ({intent['id']}) does not have a successful charge to refund.",
            "payment_intent_unexpected_state",
        )
    charge = fake.objects[intent["latest_charge"]]
    if charge_id and charge["id"] != charge_id:
        raise StripeError(
            400, f"Charge {charge_id} does not belong to PaymentIntent {intent['id']}.", param="charge"
        )
    return intent, charge


def _amount(params: Json, charge: Json) -> int:
    refundable = charge["amount"] - charge["amount_refunded"]
    if refundable == 0:
        raise StripeError(400, f"Charge {charge['id']} has already been refunded.", "charge_already_refunded")
    amount = integer(params, "amount", refundable) or 0
    if amount <= 0:
        raise StripeError(
            400, "The refund amount must be a positive integer.", "parameter_invalid_integer", "amount"
        )
    if amount > refundable:
        raise StripeError(
            400,
            f"Refund amount ({money(amount, charge['currency'])}) is greater than unrefunded amount on charge "
            f"({money(refundable, charge['currency'])})",
            "amount_too_large",
            "amount",
        )
    return amount


def new_refund(fake: "FakeStripe", charge: Json, amount: int, reason: str | None, metadata: Json) -> Json:
    obj = fixture("refund")
    obj.update(
        id=new_id("re"),
        amount=amount,
        balance_transaction=new_id("txn"),
        charge=charge["id"],
        created=int(time.time()),
        currency=charge["currency"],
        destination_details={"card": {"reference_status": "pending", "type": "refund"}, "type": "card"},
        metadata=metadata,
        payment_intent=charge["payment_intent"],
        payment_method=charge["payment_method"],
        reason=reason,
        source_transfer_reversal=None,
        status="succeeded",
        transfer_reversal=None,
    )
    return fake.put(obj)


def pro_rata(total: int, refunded: int, captured: int) -> int:
    """`total` * refunded / captured, rounded half up: what all refunds so far take back of a transfer or fee.
    Computed on the running sum, so the refund that completes the charge takes back exactly the rest."""
    return (2 * refunded * total + captured) // (2 * captured)


def reverse_transfer(fake: "FakeStripe", charge: Json, refund: Json) -> Json:
    transfer = fake.objects[charge["transfer"]]
    charge["_reversing_refunds"] = charge.get("_reversing_refunds", 0) + refund["amount"]
    amount = pro_rata(transfer["amount"], charge["_reversing_refunds"], charge["amount_captured"])
    amount -= transfer["amount_reversed"]
    reversal = fixture("transfer_reversal")
    reversal.update(
        id=new_id("trr"),
        amount=amount,
        balance_transaction=new_id("txn"),
        created=int(time.time()),
        currency=transfer["currency"],
        destination_payment_refund=new_id("pyr"),
        source_refund=refund["id"],
        transfer=transfer["id"],
    )
    fake.put(reversal)
    transfer["amount_reversed"] += amount
    transfer["reversed"] = transfer["amount_reversed"] == transfer["amount"]
    transfer["reversals"]["data"].insert(0, reversal)
    transfer["reversals"]["total_count"] += 1
    refund["transfer_reversal"] = reversal["id"]
    return transfer


def refund_fee(fake: "FakeStripe", charge: Json, refund: Json) -> Json:
    fee = fake.objects[charge["application_fee"]]
    charge["_fee_refunding_refunds"] = charge.get("_fee_refunding_refunds", 0) + refund["amount"]
    amount = pro_rata(fee["amount"], charge["_fee_refunding_refunds"], charge["amount_captured"])
    amount -= fee["amount_refunded"]
    fee_refund = fixture("fee_refund")
    fee_refund.update(
        id=new_id("fr"),
        amount=amount,
        balance_transaction=new_id("txn"),
        created=int(time.time()),
        currency=fee["currency"],
        fee=fee["id"],
        metadata={},
    )
    fake.put(fee_refund)
    fee["amount_refunded"] += amount
    fee["refunded"] = fee["amount_refunded"] == fee["amount"]
    fee["refunds"]["data"].insert(0, fee_refund)
    fee["refunds"]["total_count"] += 1
    return fee


# --- API ----------------------------------------------------------------------------------------------------


def post_refund(fake: "FakeStripe", _: Request, params: Json) -> Json:
    return create_refund(fake, params)


def get_refund(fake: "FakeStripe", request: Request, _: Json) -> Json:
    refund = fake.get(request.path_params["id"], "refund")
    if refund is None:
        raise no_such("refund", request.path_params["id"])
    return refund


def list_refunds(fake: "FakeStripe", params: Json) -> Json:
    """A Stripe list, newest first, of the refunds of `payment_intent` or `charge` (or all)."""
    newest_first = [public(o) for o in reversed(fake.objects.values()) if o.get("object") == "refund"]
    for name in ("payment_intent", "charge"):
        if params.get(name):
            newest_first = [r for r in newest_first if r[name] == params[name]]
    if params.get("starting_after"):
        ids = [r["id"] for r in newest_first]
        after = params["starting_after"]
        newest_first = newest_first[ids.index(after) + 1 :] if after in ids else []
    limit = min(integer(params, "limit", 10) or 10, 100)
    return {
        "object": "list",
        "data": newest_first[:limit],
        "has_more": len(newest_first) > limit,
        "url": "/v1/refunds",
    }


def routes(fake: "FakeStripe") -> list[Route]:
    async def listed(_: Request, params: Json) -> Response:
        return JSONResponse(list_refunds(fake, params))

    return [
        Route("/v1/refunds", resource(fake, post_refund), methods=["POST"]),
        Route("/v1/refunds", api(fake, listed), methods=["GET"]),
        Route("/v1/refunds/{id}", resource(fake, get_refund), methods=["GET"]),
    ]
