"""What a payment makes: the charge (from one of Stripe's test cards), the transfer to the connected account
and the application fee, in Stripe's shapes."""

import copy
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scripts.stripe_fake.wire import Json, fixture, new_id

if TYPE_CHECKING:
    from scripts.stripe_fake.app import FakeStripe

AUTHORIZATION_SECONDS = 7 * 24 * 3600


def money(amount: int, currency: str) -> str:
    symbol = {"usd": "$", "eur": "€", "gbp": "£"}.get(currency, "")
    return f"{symbol}{amount / 100:.2f} {currency}"


def destination_of(intent_or_charge: Json) -> str | None:
    transfer_data = intent_or_charge.get("transfer_data") or {}
    destination: str | None = transfer_data.get("destination")
    return destination


@dataclass(frozen=True)
class Card:
    brand: str
    last4: str
    decline_code: str | None = None
    message: str | None = None


# Stripe's test PaymentMethods (https://docs.stripe.com/testing), the ones the stand-in knows.
TEST_CARDS = {
    "pm_card_visa": Card("visa", "4242"),
    "pm_card_mastercard": Card("mastercard", "4444"),
    "pm_card_amex": Card("amex", "8431"),
    "pm_card_chargeDeclined": Card("visa", "0002", "generic_decline", "Your card was declined."),
    "pm_card_visa_chargeDeclinedInsufficientFunds": Card(
        "visa", "9995", "insufficient_funds", "Your card has insufficient funds."
    ),
    "pm_card_chargeDeclinedInsufficientFunds": Card(
        "visa", "9995", "insufficient_funds", "Your card has insufficient funds."
    ),
}


def new_charge(fake: "FakeStripe", intent: Json, card: Card) -> Json:
    charge_id, now, amount = new_id("ch"), int(time.time()), intent["amount"]
    destination = destination_of(intent)
    obj = fixture("charge")
    obj.update(
        id=charge_id,
        amount=amount,
        amount_captured=0,
        amount_refunded=0,
        application_fee=None,
        application_fee_amount=intent["application_fee_amount"],
        balance_transaction=None,
        calculated_statement_descriptor="STRIPE FAKE",
        captured=False,
        created=now,
        currency=intent["currency"],
        customer=intent["customer"],
        description=intent["description"],
        metadata=copy.deepcopy(intent["metadata"]),
        outcome=_approved(),
        paid=True,
        payment_intent=intent["id"],
        payment_method=intent["payment_method"],
        receipt_url=f"{fake.public_url}/receipts/{charge_id}",
        refunds={
            "object": "list",
            "data": [],
            "has_more": False,
            "total_count": 0,
            "url": f"/v1/charges/{charge_id}/refunds",
        },
        shipping=None,
        source=None,
        status="succeeded",
        transfer=None,
        transfer_data={"amount": None, "destination": destination} if destination else None,
        transfer_group=f"group_{intent['id']}" if destination else None,
    )
    details = obj["payment_method_details"]["card"]
    details.update(
        brand=card.brand, network=card.brand, last4=card.last4, amount_authorized=amount, wallet=None
    )
    details["overcapture"]["maximum_amount_capturable"] = amount
    if intent["capture_method"] == "manual":
        details["capture_before"] = now + AUTHORIZATION_SECONDS
    return fake.put(obj)


def _approved() -> Json:
    return {
        "advice_code": None,
        "network_advice_code": None,
        "network_decline_code": None,
        "network_status": "approved_by_network",
        "reason": None,
        "risk_level": "normal",
        "risk_score": 32,
        "seller_message": "Payment complete.",
        "type": "authorized",
    }


def new_transfer(fake: "FakeStripe", charge: Json, destination: str, amount: int) -> Json:
    transfer_id = new_id("tr")
    obj = fixture("transfer")
    obj.update(
        id=transfer_id,
        amount=amount,
        amount_reversed=0,
        balance_transaction=new_id("txn"),
        created=int(time.time()),
        currency=charge["currency"],
        destination=destination,
        destination_payment=new_id("py"),
        reversals={
            "object": "list",
            "data": [],
            "has_more": False,
            "total_count": 0,
            "url": f"/v1/transfers/{transfer_id}/reversals",
        },
        reversed=False,
        source_transaction=charge["id"],
        transfer_group=charge["transfer_group"],
    )
    return fake.put(obj)


def new_application_fee(fake: "FakeStripe", charge: Json, destination: str, amount: int) -> Json:
    fee_id = new_id("fee")
    obj = fixture("application_fee")
    obj.update(
        id=fee_id,
        account=destination,
        amount=amount,
        amount_refunded=0,
        application="ca_stripe_fake_platform",
        balance_transaction=new_id("txn"),
        charge=charge["id"],
        created=int(time.time()),
        currency=charge["currency"],
        fee_source={"charge": charge["id"], "type": "charge"},
        originating_transaction=charge["id"],
        refunded=False,
        refunds={
            "object": "list",
            "data": [],
            "has_more": False,
            "total_count": 0,
            "url": f"/v1/application_fees/{fee_id}/refunds",
        },
    )
    return fake.put(obj)
