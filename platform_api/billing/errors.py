"""Failures of subscriptions, Stripe and its webhook."""

from platform_api.errors import (
    BadRequest,
    Conflict,
    NotFound,
    ServerError,
    ServiceUnavailable,
    Unprocessable,
)
from shared_models.errors import BodyTooLarge


class TierUnavailable(Unprocessable):
    code = "tier_unavailable"
    message = "This tier is not on sale."


class AlreadySubscribed(Conflict):
    code = "already_subscribed"
    message = "This provider already has a subscription; change it in the billing portal."


class NoBillingAccount(Conflict):
    code = "no_billing_account"
    message = "Subscribe first: there is no billing account yet."


class StripeUnavailable(ServiceUnavailable):
    code = "stripe_unavailable"
    message = "Stripe could not be reached; retry shortly."


class PayloadTooLarge(BodyTooLarge):
    description = "The body is larger than any Stripe event"
    message = "The body is larger than any Stripe event."


class InvalidSignature(BadRequest):
    code = "invalid_signature"
    message = "Webhook rejected: the signature does not verify."


class WebhookFailed(ServerError):
    """Our side failed: a 5xx, so Stripe retries (the handler is safe to run again)."""

    description = "Processing failed; Stripe will retry"
    code = "webhook_failed"
    message = "The event could not be processed; it is safe to deliver again."


class UnverifiedDelivery(Conflict):
    code = "unverified_delivery"
    message = "This delivery failed signature verification; it is never processed."


class DeliveryNotFound(NotFound):
    code = "delivery_not_found"
    message = "No such delivery."
