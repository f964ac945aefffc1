"""Failures of booking requests (an illegal transition and a lost compare-and-set are shared by the
state machines: `platform_api.errors`)."""

from platform_api.errors import (
    ConcurrentUpdate,
    Conflict,
    Forbidden,
    InvalidTransition,
    NotDue,
    NotFound,
    Unprocessable,
    ValidationFailed,
)
from platform_api.payments.errors import ChargesNotEnabled, PaymentNotAuthorised, QuoteLocked


class RequestNotFound(NotFound):
    code = "request_not_found"
    message = "No such request."


class UnknownRequest(Unprocessable):
    """The same failure named in a request body (`request_id`) rather than the path: answered 422."""

    variant_of = RequestNotFound
    code = RequestNotFound.code
    message = RequestNotFound.message


class CategoryNotOffered(Unprocessable):
    code = "category_not_offered"
    message = "This provider does not offer that category."


class ProviderUnavailable(Conflict):
    code = "provider_unavailable"
    message = "This provider is not taking requests right now."


class SubscriptionRequired(Forbidden):
    code = "subscription_required"
    message = "An active subscription is needed to accept requests."


class ReasonRequired(Unprocessable):
    code = "reason_required"
    message = "A reason is required for this now."


class DeadlinePassed(Conflict):
    code = "deadline_passed"
    message = "Too late: the deadline has passed."


class TransitionLost(ConcurrentUpdate):
    """The compare-and-set matched nothing: someone else moved the request first."""


# What a route answers when it moves a request through the state machine, for its `responses=errors(...)`:
# `booking_service.transition` refuses with these; `booking_service.perform` (find the request, check the
# provider's subscription, the quote and, for a card-paid booking, the payment, then transition) adds its own.
TRANSITION_FAILURES = (InvalidTransition, DeadlinePassed, NotDue, ReasonRequired)
PERFORM_FAILURES = (
    RequestNotFound,
    SubscriptionRequired,
    QuoteLocked,
    ChargesNotEnabled,
    PaymentNotAuthorised,
    *TRANSITION_FAILURES,
    ValidationFailed,
)
