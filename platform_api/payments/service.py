"""A booking's payment: started by the customer while the booking is requested (a PaymentIntent the app
confirms with Stripe's client secret), gated at acceptance, shown to the parties and admins.

The PaymentIntent is a destination charge: `transfer_data.destination` is the provider's connected account,
`application_fee_amount` the commission of the provider's tier (`entitlements.tiers`), `capture_method`
manual (authorise on request, capture on acceptance: `policy`). One PaymentIntent per booking (Stripe
idempotency key per booking; the record's `_id` is the booking's).
"""

from dataclasses import dataclass
from datetime import datetime

import stripe
import structlog

from platform_api.billing.stripe_api import stripe_errors
from platform_api.entitlements import subscriptions
from platform_api.entitlements.tiers import application_fee
from platform_api.payments import accounts, settlement
from platform_api.payments.errors import (
    AmountTooLarge,
    AmountTooSmall,
    CurrencyNotSupported,
    PaymentClosed,
    PaymentNotAuthorised,
    PaymentNotFound,
    PaymentRejected,
    QuoteLocked,
    QuoteRequired,
)
from platform_api.payments.reducer import PaymentReducer, StripeSource
from shared_models.documents import Money, ServiceRequest
from shared_models.documents.payments import BookingPayment, PaymentInstruction, PaymentIntentStatus
from shared_models.enums import RequestState, SubscriptionTier

log = structlog.get_logger(__name__)

# The currencies a card-paid booking may be priced in (the markets we settle in), and the smallest and largest
# amounts Stripe charges a card in them, in minor units (Stripe's "Minimum and maximum charge amounts": 0.30 GBP,
# 0.50 EUR / USD; at most eight digits). Stripe refuses anything else, so a booking outside them could never
# be paid.
CARD_CURRENCIES = frozenset({"GBP", "EUR", "USD"})
MINIMUM_CHARGE = {"GBP": 30, "EUR": 50, "USD": 50}
MAXIMUM_CHARGE = 99_999_999


@dataclass(frozen=True)
class PaymentView:
    payment: BookingPayment
    instructions: list[PaymentInstruction]
    client_secret: str | None = None


async def card_payments_for(provider_id: str) -> bool:
    """Whether a booking requested of this provider now is paid by card (its connected account can take
    charges): then a quote is required and the customer pays before the provider can accept."""
    account = await accounts.get_for_provider(provider_id)
    return account is not None and account.charges_enabled


def check_price(quote: Money | None) -> None:
    """A card-paid booking's price: present (`QuoteRequired`), in a card currency (`CurrencyNotSupported`),
    within what Stripe charges a card (`AmountTooSmall`, `AmountTooLarge`)."""
    if quote is None:
        raise QuoteRequired(field="quote")
    if quote.currency not in CARD_CURRENCIES:
        raise CurrencyNotSupported(
            f"Card payments are in {', '.join(sorted(CARD_CURRENCIES))}.", field="quote.currency"
        )
    minimum = MINIMUM_CHARGE[quote.currency]
    if quote.amount_minor < minimum:
        raise AmountTooSmall(
            f"A card payment is at least {minimum} minor units of {quote.currency}.",
            field="quote.amount_minor",
        )
    if quote.amount_minor > MAXIMUM_CHARGE:
        raise AmountTooLarge(
            f"A card payment is at most {MAXIMUM_CHARGE} minor units.", field="quote.amount_minor"
        )


async def start(
    request: ServiceRequest, client: stripe.StripeClient, source: StripeSource, now: datetime
) -> PaymentView:
    """The booking's PaymentIntent, created once, with the client secret the app confirms it with (Stripe's
    Payment Element / the mobile Payment Sheet). Only while the booking is requested and its provider may
    still answer (`PaymentClosed`), and the provider can take charges (`ChargesNotEnabled`)."""
    existing = await BookingPayment.get(request.id)
    created = None
    if existing is None:
        if request.state is not RequestState.requested or (request.respond_by and now >= request.respond_by):
            raise PaymentClosed(details={"state": request.state.value})
        created = await _create(request, client, source)
    payment = existing or await BookingPayment.get(request.id)
    assert payment is not None
    intent = created
    if intent is None or intent.id != payment.stripe_payment_intent_id:  # made before, or another won
        with stripe_errors("read the payment"):
            intent = await client.v1.payment_intents.retrieve_async(payment.stripe_payment_intent_id)
    return PaymentView(payment, await _instructions(request), client_secret=intent.client_secret)


async def _create(
    request: ServiceRequest, client: stripe.StripeClient, source: StripeSource
) -> stripe.PaymentIntent:
    account = await accounts.chargeable(request.provider_id)
    quote = request.quote
    check_price(quote)
    assert quote is not None
    subscription = await subscriptions.get_for_provider(request.provider_id)
    tier = subscription.tier if subscription is not None else SubscriptionTier.unknown
    fee = application_fee(quote.amount_minor, tier)
    terms = f"{quote.amount_minor}-{quote.currency}-{fee}-{account.stripe_account_id}"
    key = f"marketplace-booking-{request.id}-payment-{terms}"
    try:
        with stripe_errors("start the payment"):
            intent = await client.v1.payment_intents.create_async(
                params={
                    "amount": quote.amount_minor,
                    "currency": quote.currency.lower(),
                    "capture_method": "manual",
                    "automatic_payment_methods": {"enabled": True},
                    "transfer_data": {"destination": account.stripe_account_id},
                    "application_fee_amount": fee,
                    "description": f"Booking {request.id}",
                    "metadata": {
                        "request_id": str(request.id),
                        "customer_id": request.customer_id,
                        "provider_id": request.provider_id,
                        "provider_user_id": request.provider_user_id,
                    },
                },
                # Per booking and terms: a retry makes no second PaymentIntent, and if the terms changed
                # meanwhile (a new tier's fee) the retry is not refused as a key reused with other params.
                # (A PaymentIntent made on the old terms but never recorded was never shown to the app.)
                options={"idempotency_key": key},
            )
    except stripe.InvalidRequestError as exc:
        raise PaymentRejected(f"Stripe refused the payment: {exc.user_message}", field="quote") from exc
    # Recorded by the webhook's own writer, from the object Stripe has (the created event may come first).
    await PaymentReducer(source).record(str(intent.id), None)
    log.info("payments.started", request_id=str(request.id), amount=quote.amount_minor, tier=tier.value)
    return intent


async def view(request: ServiceRequest) -> PaymentView | None:
    """The booking's payment and our instructions for it (None: it has none)."""
    payment = await BookingPayment.get(request.id)
    return PaymentView(payment, await _instructions(request)) if payment is not None else None


async def view_of(request: ServiceRequest) -> PaymentView:
    """`view`, or `PaymentNotFound`."""
    found = await view(request)
    if found is None:
        raise PaymentNotFound()
    return found


async def _instructions(request: ServiceRequest) -> list[PaymentInstruction]:
    return list((await settlement.instructions_of(str(request.id))).values())


async def check_acceptable(request: ServiceRequest, quote: Money | None) -> None:
    """Before a provider accepts a card-paid booking: its price stays the one authorised (`QuoteLocked`),
    the provider can still take charges (`ChargesNotEnabled`), and the customer's card is authorised for
    exactly the booking's price and currency (`PaymentNotAuthorised`)."""
    if not request.payment_required:
        return
    if quote is not None and quote != request.quote:
        raise QuoteLocked(field="quote")
    await accounts.chargeable(request.provider_id)
    payment = await BookingPayment.get(request.id)
    if payment is None or payment.status is not PaymentIntentStatus.requires_capture:
        status = payment.status.value if payment else None
        raise PaymentNotAuthorised(details={"payment_status": status})
    quote = request.quote
    if quote is None or (payment.amount_capturable, payment.currency) != (quote.amount_minor, quote.currency):
        # Never expected (the PaymentIntent was made from the quote): refuse rather than capture a mismatch.
        log.error(
            "payments.amount_mismatch", request_id=str(request.id), capturable=payment.amount_capturable
        )
        raise PaymentNotAuthorised(
            "The authorised amount is not the booking's price.",
            details={"payment_status": payment.status.value, "amount_capturable": payment.amount_capturable},
        )
