"""Beanie documents, one module per aggregate."""

from shared_models.documents.account import AccountToken
from shared_models.documents.billing import (
    BillingCustomer,
    ProcessedStripeEvent,
    ProviderSubscription,
    WebhookDelivery,
)
from shared_models.documents.bookings import (
    DomainEvent,
    GeoPoint,
    Money,
    ServiceRequest,
    TimeWindow,
    Transition,
)
from shared_models.documents.chat import Conversation, LastMessage, Message
from shared_models.documents.consent import ConsentRecord
from shared_models.documents.leases import JobLease
from shared_models.documents.notifications import (
    EmailMessage,
    Notification,
    NotificationClaim,
    NotificationDelivery,
    NotificationPreferences,
)
from shared_models.documents.outbox import OutboxEvent
from shared_models.documents.providers import ProviderCoverage, ProviderProfile, ServiceArea
from shared_models.documents.search import GeocodeCache, SearchEvent, SearchImpression
from shared_models.documents.sessions import RevokedSession
from shared_models.documents.users import User

__all__ = [
    "AccountToken",
    "BillingCustomer",
    "ConsentRecord",
    "Conversation",
    "DomainEvent",
    "EmailMessage",
    "GeoPoint",
    "GeocodeCache",
    "JobLease",
    "LastMessage",
    "Message",
    "Money",
    "Notification",
    "NotificationClaim",
    "NotificationDelivery",
    "NotificationPreferences",
    "OutboxEvent",
    "ProcessedStripeEvent",
    "ProviderCoverage",
    "ProviderProfile",
    "ProviderSubscription",
    "RevokedSession",
    "SearchEvent",
    "SearchImpression",
    "ServiceArea",
    "ServiceRequest",
    "TimeWindow",
    "Transition",
    "User",
    "WebhookDelivery",
]
