"""The catalogue of notification types: one list, imported by both services.

Each type names the domain event that produces it, who receives it (the audience rule, read from the
event's payload), its default channels, how repeats collapse (collapse key and dedup window, and a longer
window for email so a burst yields one email), whether the user may turn it off, and its payload schema.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict


class Channel(StrEnum):
    in_app = "in_app"  # stored, listed by GET /notifications
    realtime = "realtime"  # `notification:new` on the user's sockets
    email = "email"


class Audience(StrEnum):
    customer = "customer"
    provider = "provider"
    both_parties = "both_parties"
    recipient = "recipient"  # whoever the event names as its recipient (e.g. the other participant)
    other_party = "other_party"  # both parties but the one who acted (`added_by`)


# --- payload schemas: what a notification of each family carries --------------------------------------


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore")


class BookingPayload(_Payload):
    request_id: str
    customer_id: str
    provider_id: str
    provider_user_id: str
    to_state: str | None = None
    actor_role: str | None = None
    reason: str | None = None
    due_at: str | None = None  # reminders: the deadline they remind of


class ChatPayload(_Payload):
    conversation_id: str
    sender_id: str
    recipient_id: str
    message_id: str | None = None
    preview: str | None = None


class DisputePayload(_Payload):
    dispute_id: str
    request_id: str
    customer_id: str
    provider_user_id: str
    outcome: str | None = None
    due_at: str | None = None
    added_by: str | None = None
    recipient_id: str | None = None  # info requests: the party asked
    question: str | None = None


class SubscriptionPayload(_Payload):
    provider_id: str
    provider_user_id: str
    subscription_id: str
    tier: str
    status: str
    previous_tier: str | None = None
    at_period_end: bool | None = None
    ends_at: str | None = None


class ReviewPayload(_Payload):
    review_id: str
    request_id: str
    recipient_id: str
    rating: int


class AccountPayload(_Payload):
    recipient_id: str
    reason: str | None = None


@dataclass(frozen=True)
class NotificationType:
    key: str
    source: str  # the domain event type that produces it
    audience: Audience
    channels: frozenset[Channel]
    payload: type[_Payload]
    title: str
    collapse_by: str | None = None  # payload field: repeats with the same value collapse
    dedup_window: timedelta = timedelta(0)
    email_window: timedelta = timedelta(0)
    mandatory: bool = False  # the user cannot turn its email off
    when: Callable[[Mapping[str, Any]], bool] = field(default=lambda _: True)

    def recipients(self, payload: Mapping[str, Any]) -> list[str]:
        match self.audience:
            case Audience.customer:
                return [str(payload["customer_id"])]
            case Audience.provider:
                return [str(payload["provider_user_id"])]
            case Audience.both_parties:
                return [str(payload["customer_id"]), str(payload["provider_user_id"])]
            case Audience.recipient:
                return [str(payload["recipient_id"])]
            case Audience.other_party:
                parties = [str(payload["customer_id"]), str(payload["provider_user_id"])]
                return [p for p in parties if p != payload.get("added_by")]


ALL = frozenset(Channel)
APP = frozenset({Channel.in_app, Channel.realtime})
BOOKING_WINDOW = timedelta(minutes=10)  # repeats about one request (e.g. reminders) collapse


def _booking(key: str, source: str, audience: Audience, title: str, **kw: Any) -> NotificationType:
    return NotificationType(
        key, source, audience, kw.pop("channels", ALL), BookingPayload, title,
        collapse_by="request_id", dedup_window=BOOKING_WINDOW, email_window=BOOKING_WINDOW, **kw,
    )  # fmt: skip


def _by(role: str) -> Callable[[Mapping[str, Any]], bool]:
    return lambda payload: payload.get("actor_role") == role


CATALOGUE_LIST: tuple[NotificationType, ...] = (
    # booking
    _booking("request_created", "request.created", Audience.provider, "New booking request"),
    _booking("request_accepted", "request.accepted", Audience.customer, "Your request was accepted"),
    _booking("request_declined", "request.declined", Audience.customer, "Your request was declined"),
    _booking(
        "request_cancelled_by_customer", "request.cancelled", Audience.provider,
        "The customer cancelled the booking", when=_by("customer"),
    ),
    _booking(
        "request_cancelled_by_provider", "request.cancelled", Audience.customer,
        "The provider cancelled the booking", when=_by("provider"),
    ),
    _booking("request_expired", "request.expired", Audience.both_parties, "A request expired unanswered"),
    _booking(
        "request_response_reminder", "request.response_reminder", Audience.provider,
        "A request needs your answer within 24 hours",
    ),
    _booking("job_completed", "request.completed", Audience.customer, "Your job was marked complete"),
    _booking(
        "confirmation_reminder", "request.confirmation_reminder", Audience.customer,
        "Please confirm the job (2 days left)",
    ),
    _booking("job_confirmed", "request.confirmed", Audience.provider, "The customer confirmed the job"),
    _booking("job_auto_confirmed", "request.auto_confirmed", Audience.both_parties, "The job was confirmed"),
    # chat
    NotificationType(
        "new_message", "message.created", Audience.recipient, ALL, ChatPayload, "New message",
        collapse_by="conversation_id", dedup_window=timedelta(seconds=60), email_window=timedelta(minutes=15),
    ),
    NotificationType(
        "conversation_started", "conversation.started", Audience.recipient, ALL, ChatPayload,
        "Someone started a conversation with you", collapse_by="conversation_id",
        dedup_window=timedelta(minutes=10),
    ),
    # disputes
    NotificationType(
        "dispute_opened", "request.disputed", Audience.provider, ALL, BookingPayload,
        "A customer opened a dispute", mandatory=True,
    ),
    NotificationType(
        "dispute_evidence_added", "dispute.evidence_added", Audience.other_party, APP, DisputePayload,
        "New evidence in a dispute", collapse_by="dispute_id", dedup_window=timedelta(minutes=10),
    ),
    NotificationType(
        "dispute_response_due", "dispute.response_due", Audience.provider, ALL, DisputePayload,
        "Your response to a dispute is due", mandatory=True,
    ),
    NotificationType(
        "dispute_info_requested", "dispute.info_requested", Audience.recipient, ALL, DisputePayload,
        "More information is needed in your dispute", mandatory=True,
    ),
    NotificationType(
        "dispute_resolved", "dispute.resolved", Audience.both_parties, ALL, DisputePayload,
        "A dispute was resolved", mandatory=True,
    ),
    # billing
    NotificationType(
        "subscription_activated", "subscription.activated", Audience.provider, ALL, SubscriptionPayload,
        "Your subscription is active",
    ),
    NotificationType(
        "subscription_tier_changed", "subscription.tier_changed", Audience.provider, ALL,
        SubscriptionPayload, "Your plan changed",
    ),
    NotificationType(
        "subscription_payment_failed", "subscription.payment_failed", Audience.provider, ALL,
        SubscriptionPayload, "A subscription payment failed", mandatory=True,
        collapse_by="subscription_id", dedup_window=timedelta(hours=12), email_window=timedelta(hours=12),
    ),
    NotificationType(
        "subscription_cancelled", "subscription.cancelled", Audience.provider, ALL, SubscriptionPayload,
        "Your subscription was cancelled", mandatory=True,
    ),
    # reviews
    NotificationType(
        "review_received", "review.published", Audience.recipient, ALL, ReviewPayload, "You have a new review"
    ),
    # account
    NotificationType(
        "account_suspended", "account.suspended", Audience.recipient, frozenset({Channel.in_app, Channel.email}),
        AccountPayload, "Your account was suspended", mandatory=True,
    ),
)  # fmt: skip

CATALOGUE: dict[str, NotificationType] = {t.key: t for t in CATALOGUE_LIST}


def for_event(event_type: str, payload: Mapping[str, Any]) -> list[tuple[NotificationType, str]]:
    """The (type, recipient) pairs a domain event produces; nothing for events no type listens to."""
    found = []
    for kind in CATALOGUE_LIST:
        if kind.source == event_type and kind.when(payload):
            found += [(kind, recipient) for recipient in kind.recipients(payload)]
    return found
