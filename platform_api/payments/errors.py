"""Failures of booking payments and providers' connected accounts."""

from platform_api.errors import Conflict, NotFound, Unprocessable


class PaymentNotFound(NotFound):
    code = "payment_not_found"
    message = "This booking has no payment."


class NoConnectedAccount(Conflict):
    code = "no_connected_account"
    message = "Set up payouts first: there is no connected account yet."


class OnboardingIncomplete(Conflict):
    code = "onboarding_incomplete"
    message = "Finish onboarding with Stripe first."


class ChargesNotEnabled(Conflict):
    """The provider's connected account cannot take card payments now (onboarding unfinished, or Stripe
    restricted it): no payment can start and no paid booking can be accepted."""

    code = "charges_not_enabled"
    message = "This provider cannot take card payments right now."


class QuoteRequired(Unprocessable):
    code = "quote_required"
    message = "A booking paid by card needs a price (`quote`) when it is requested."


class QuoteLocked(Unprocessable):
    code = "quote_locked"
    message = "The customer authorised this booking's price; accepting cannot change it."


class PaymentNotAuthorised(Conflict):
    code = "payment_not_authorised"
    message = "The customer has not authorised the payment yet."


class PaymentClosed(Conflict):
    code = "payment_closed"
    message = "Payment is only taken while the booking is requested."


class AmountTooSmall(Unprocessable):
    code = "amount_too_small"
    message = "The price is below the smallest amount a card can be charged."


class AmountTooLarge(Unprocessable):
    code = "amount_too_large"
    message = "The price is above the largest amount a card can be charged."


class CurrencyNotSupported(Unprocessable):
    code = "currency_not_supported"
    message = "Card payments are not taken in this currency."


class PaymentRejected(Unprocessable):
    """Stripe refused the payment's parameters (e.g. a currency it does not support)."""

    code = "payment_rejected"
    message = "Stripe refused this payment."


class NotCardPaid(Conflict):
    code = "not_card_paid"
    message = "This booking is not paid by card in the app (its provider took no card payments when it was requested)."
