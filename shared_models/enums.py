"""Enumerations shared by both services: roles, account states, service categories."""

from enum import StrEnum


class Role(StrEnum):
    customer = "customer"
    provider = "provider"
    admin = "admin"


class UserStatus(StrEnum):
    active = "active"
    suspended = "suspended"
    deleted = "deleted"  # erased at the user's request: anonymised, can never log in again


class ServiceCategory(StrEnum):
    """The marketplace's category catalogue: providers pick from it, search filters by it."""

    plumbing = "plumbing"
    electrical = "electrical"
    cleaning = "cleaning"
    gardening = "gardening"
    handyman = "handyman"
    painting = "painting"
    moving = "moving"
    hvac = "hvac"
    locksmith = "locksmith"
    pest_control = "pest_control"
    appliance_repair = "appliance_repair"
    carpentry = "carpentry"


class RequestState(StrEnum):
    requested = "requested"
    accepted = "accepted"
    declined = "declined"
    cancelled = "cancelled"
    expired = "expired"
    completed = "completed"
    confirmed = "confirmed"
    auto_confirmed = "auto_confirmed"
    disputed = "disputed"
    resolved = "resolved"  # an admin decided the dispute (the outcome is on the request and the dispute)


class RequestEvent(StrEnum):
    accept = "accept"
    decline = "decline"
    cancel = "cancel"
    expire = "expire"
    complete = "complete"
    confirm = "confirm"
    auto_confirm = "auto_confirm"
    dispute = "dispute"
    resolve = "resolve"


class ActorRole(StrEnum):
    """Who caused a transition: a party to the request, or the scheduler."""

    customer = "customer"
    provider = "provider"
    admin = "admin"
    system = "system"


class SubscriptionTier(StrEnum):
    """Subscription tiers; which Stripe price is which tier is configuration (price slots), never code."""

    basic = "basic"
    pro = "pro"
    premium = "premium"
    unknown = "unknown"  # a price in no configured slot: recorded, flagged, never a crash


class SubscriptionStatus(StrEnum):
    """Stripe's subscription statuses, as Stripe names them."""

    incomplete = "incomplete"
    incomplete_expired = "incomplete_expired"
    trialing = "trialing"
    active = "active"
    past_due = "past_due"
    canceled = "canceled"
    unpaid = "unpaid"
    paused = "paused"
