"""Beanie documents, one module per aggregate."""

from shared_models.documents.account import AccountToken
from shared_models.documents.audit import AuditEntry
from shared_models.documents.billing import (
    BillingCustomer,
    ProcessedStripeEvent,
    ProviderSubscription,
    WebhookDelivery,
)
from shared_models.documents.bookings import (
    DisputeOpening,
    DomainEvent,
    GeoPoint,
    Money,
    Resolution,
    ServiceRequest,
    ServiceRequestSummary,
    TimeWindow,
    Transition,
)
from shared_models.documents.chat import Conversation, LastMessage, Message
from shared_models.documents.consent import ConsentRecord
from shared_models.documents.disputes import (
    Dispute,
    DisputeCategory,
    DisputeEvidence,
    DisputeOutcome,
    DisputeState,
    DisputeStep,
    EvidenceKind,
    Refund,
    RefundKind,
)
from shared_models.documents.idempotency import IdempotentRequest
from shared_models.documents.leases import JobLease
from shared_models.documents.media import MediaGrant, MediaObject, MediaStatus
from shared_models.documents.notifications import (
    EmailMessage,
    EmailWindow,
    Notification,
    NotificationClaim,
    NotificationDelivery,
    NotificationPreferences,
)
from shared_models.documents.outbox import OutboxEvent
from shared_models.documents.payments import BookingPayment, ConnectedAccount, PaymentInstruction
from shared_models.documents.providers import ProviderCoverage, ProviderProfile, ServiceArea
from shared_models.documents.reviews import Review, ReviewReply
from shared_models.documents.search import GeocodeCache, SearchEvent, SearchImpression
from shared_models.documents.sessions import RevokedSession
from shared_models.documents.users import User

__all__ = [
    "AccountToken",
    "AuditEntry",
    "BillingCustomer",
    "BookingPayment",
    "ConnectedAccount",
    "ConsentRecord",
    "Conversation",
    "Dispute",
    "DisputeCategory",
    "DisputeEvidence",
    "DisputeOpening",
    "DisputeOutcome",
    "DisputeState",
    "DisputeStep",
    "DomainEvent",
    "EmailMessage",
    "EmailWindow",
    "EvidenceKind",
    "GeoPoint",
    "GeocodeCache",
    "IdempotentRequest",
    "JobLease",
    "LastMessage",
    "MediaGrant",
    "MediaObject",
    "MediaStatus",
    "Message",
    "Money",
    "Notification",
    "NotificationClaim",
    "NotificationDelivery",
    "NotificationPreferences",
    "OutboxEvent",
    "PaymentInstruction",
    "ProcessedStripeEvent",
    "ProviderCoverage",
    "ProviderProfile",
    "ProviderSubscription",
    "Refund",
    "RefundKind",
    "Resolution",
    "Review",
    "ReviewReply",
    "RevokedSession",
    "SearchEvent",
    "SearchImpression",
    "ServiceArea",
    "ServiceRequest",
    "ServiceRequestSummary",
    "TimeWindow",
    "Transition",
    "User",
    "WebhookDelivery",
]
