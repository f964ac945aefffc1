"""Every hot query added for chat, billing, search, notifications, disputes, reviews and the console is index-served (engine and MongoDB alike)."""

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from beanie import Document

from shared_models.documents import (
    AuditEntry,
    Dispute,
    DisputeEvidence,
    EmailMessage,
    EmailWindow,
    MediaGrant,
    Message,
    Notification,
    NotificationClaim,
    OutboxEvent,
    ProviderProfile,
    ProviderSubscription,
    Review,
    SearchImpression,
    ServiceRequest,
    User,
    WebhookDelivery,
)
from tests.plans import index_served

NOW = datetime(2026, 11, 25, tzinfo=UTC)
USER = "a" * 24
KEY = "20261125T000000.000000-" + "b" * 24

QUERIES: list[tuple[str, type[Document], dict[str, Any], list[tuple[str, int]] | None]] = [
    (
        "notifications, newest first",
        Notification,
        {"recipient_id": USER, "updated_key": {"$lt": KEY}},
        [("updated_key", -1)],
    ),
    ("notifications, unread first", Notification, {"recipient_id": USER}, [("unread_key", -1)]),
    ("unread count", Notification, {"recipient_id": USER, "read": False}, None),
    ("open collapse target", Notification, {"open_key": "k"}, None),
    ("email window claim", EmailWindow, {"key": "k", "until_key": {"$lte": KEY}}, None),
    ("message history page", Message, {"conversation_id": USER, "seq": {"$lt": 40}}, [("seq", -1)]),
    ("a conversation's last seq", Message, {"conversation_id": USER, "seq": {"$gte": 1}}, [("seq", -1)]),
    ("unread messages", Message, {"conversation_id": USER, "sender_id": USER, "seq": {"$gt": 3}}, None),
    ("claim", NotificationClaim, {"key": "k"}, None),
    ("relay queue", OutboxEvent, {"dispatched_at": None}, [("occurred_at", 1)]),
    ("due reminders", ServiceRequest, {"state": "requested", "remind_at": {"$lte": NOW}}, [("remind_at", 1)]),
    (
        "mail queue",
        EmailMessage,
        {"status": "pending", "next_attempt_key": {"$lte": KEY}},
        [("next_attempt_key", 1)],
    ),
    ("stale search rows", ProviderProfile, {"index_pending_since": {"$lte": NOW}}, None),
    ("stale subscription events", ProviderSubscription, {"pending_since": {"$lte": NOW}}, None),
    ("subscription by provider", ProviderSubscription, {"provider_id": USER}, None),
    (
        "webhook ledger",
        WebhookDelivery,
        {"outcome": "failed", "received_key": {"$lt": KEY}},
        [("received_key", -1)],
    ),
    ("impressions in a range", SearchImpression, {"at_key": {"$gte": KEY, "$lt": KEY + "z"}}, None),
    ("disputes due", Dispute, {"state": "open", "respond_by": {"$lte": NOW}}, [("respond_by", 1)]),
    ("dispute reminders", Dispute, {"state": "open", "remind_at": {"$lte": NOW}}, None),
    ("admin disputes by state", Dispute, {"state": "open", "opened_key": {"$lt": KEY}}, [("opened_key", -1)]),
    ("admin disputes by category", Dispute, {"category": "damage"}, [("opened_key", -1)]),
    ("my disputes", Dispute, {"customer_id": USER}, [("opened_key", -1)]),
    ("dispute timeline", DisputeEvidence, {"dispute_id": USER}, [("seq_key", 1)]),
    ("reviews due", Review, {"published": False, "publish_at": {"$lte": NOW}}, [("publish_at", 1)]),
    ("a provider's public reviews", Review, {"public_key": {"$gte": USER + ":", "$lt": USER + ";"}}, None),
    ("a review pair", Review, {"review_key": USER + ":customer"}, None),
    ("download grant", MediaGrant, {"grant_key": USER + ":" + USER}, None),
    ("audit by target", AuditEntry, {"target_id": USER}, [("at_key", -1)]),
    ("audit, newest first", AuditEntry, {"at_key": {"$lt": KEY}}, [("at_key", -1)]),
    ("incomplete sign-ups", User, {"complete": False, "created_at": {"$lte": NOW}}, None),
    ("users by email prefix", User, {"email": {"$gte": "ada", "$lt": "ada\uffff"}}, [("email", 1)]),
]


@pytest.mark.parametrize(("what", "model", "query", "sort"), QUERIES, ids=[q[0] for q in QUERIES])
async def test_index_served(
    api: httpx.AsyncClient,
    what: str,
    model: type[Document],
    query: dict[str, Any],
    sort: list[tuple[str, int]] | None,
) -> None:
    cursor = model.get_pymongo_collection().find(query)
    if sort:
        cursor = cursor.sort(sort)
    plan = await cursor.explain()
    assert index_served(plan), (what, plan["queryPlanner"]["winningPlan"])
