"""GDPR: export everything a user owns, and delete an account (erase or anonymise its personal data).

Export: one JSON archive, a section per collection holding the user's data (`EXPORTED`); a test keeps
every collection either exported or listed in `NOT_PERSONAL` with the reason.

Deletion keeps what the counterpart needs (bookings, conversations, messages, disputes) in anonymised form:
the account's name and email are replaced, the customer's addresses in bookings are removed, IPs and user
agents in the consent ledger are cleared, mail and links waiting for the account are dropped, its
notifications, preferences and stored create responses (idempotency keys) deleted, its provider profile
emptied and withdrawn from search; every session ends and the chat server drops its sockets.
"""

import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import structlog
from beanie import Document

from platform_api.auth.service import hash_password
from platform_api.billing import subscriptions
from platform_api.providers.service import provider_service
from platform_api.realtime import RealtimeClient
from shared_models.documents import (
    AccountToken,
    BillingCustomer,
    ConsentRecord,
    Conversation,
    Dispute,
    DisputeEvidence,
    EmailMessage,
    IdempotentRequest,
    MediaObject,
    Message,
    Notification,
    NotificationDelivery,
    NotificationPreferences,
    ProviderProfile,
    Review,
    RevokedSession,
    ServiceRequest,
    User,
)
from shared_models.enums import Role, UserStatus
from shared_models.services import session_cache

log = structlog.get_logger(__name__)
DELETED_NAME = "Deleted user"
REMOVED = "(removed at the account holder's request)"


def _public(doc: Document) -> dict[str, Any]:
    data: dict[str, Any] = doc.model_dump(
        mode="json", by_alias=True, exclude={"revision_id", "password_hash"}
    )
    return data


Finder = Callable[[User, ProviderProfile | None], Awaitable[list[Any]]]


async def _none() -> list[Any]:
    return []


async def _by(model: type[Document], field: str, value: str | None) -> list[Any]:
    return await model.find({field: value}).to_list() if value else []


# Section → how to find the user's documents in it. Two queries where a user can be either side, never $or.
EXPORTED: dict[str, Finder] = {
    "provider_profile": lambda u, p: _by(ProviderProfile, "owner_id", str(u.id)),
    "requests_as_customer": lambda u, p: _by(ServiceRequest, "customer_id", str(u.id)),
    "requests_as_provider": lambda u, p: _by(ServiceRequest, "provider_user_id", str(u.id)),
    "conversations_as_customer": lambda u, p: _by(Conversation, "customer_id", str(u.id)),
    "conversations_as_provider": lambda u, p: _by(Conversation, "provider_user_id", str(u.id)),
    "notifications": lambda u, p: _by(Notification, "recipient_id", str(u.id)),
    "notification_deliveries": lambda u, p: _by(NotificationDelivery, "recipient_id", str(u.id)),
    "notification_preferences": lambda u, p: _by(NotificationPreferences, "user_id", str(u.id)),
    "consents": lambda u, p: _by(ConsentRecord, "user_id", str(u.id)),
    "subscription": lambda u, p: subscriptions.export_for_provider(str(p.id)) if p else _none(),
    "billing_customer": lambda u, p: _by(BillingCustomer, "provider_id", str(p.id) if p else None),
    "sessions_logged_out": lambda u, p: _by(RevokedSession, "user_id", str(u.id)),
    "emails": lambda u, p: _by(EmailMessage, "to", u.email),
    "uploads": lambda u, p: _by(MediaObject, "owner_id", str(u.id)),
    "disputes_as_customer": lambda u, p: _by(Dispute, "customer_id", str(u.id)),
    "disputes_as_provider": lambda u, p: _by(Dispute, "provider_user_id", str(u.id)),
    "dispute_evidence": lambda u, p: _by(DisputeEvidence, "author_id", str(u.id)),
    "reviews_written": lambda u, p: _by(Review, "author_id", str(u.id)),
    "reviews_received": lambda u, p: _by(Review, "subject_id", str(u.id)),
    "idempotent_requests": lambda u, p: _by(IdempotentRequest, "user_id", str(u.id)),
}


# The collections an export covers, and those that hold nothing personal (with why): a test keeps every
# document model in one of the two.
EXPORTED_MODELS: frozenset[str] = frozenset(
    {
        "User", "ProviderProfile", "ServiceRequest", "Conversation", "Message", "Notification",
        "NotificationDelivery", "NotificationPreferences", "ConsentRecord", subscriptions.DOCUMENT_NAME,
        "BillingCustomer", "RevokedSession", "EmailMessage", "MediaObject", "Dispute", "DisputeEvidence",
        "Review", "IdempotentRequest",
    }
)  # fmt: skip
NOT_PERSONAL: dict[str, str] = {
    "ProviderCoverage": "derived from the provider profile (exported), rebuilt from it",
    "OutboxEvent": "transient domain events (ids only), dispatched within seconds",
    "JobLease": "scheduler bookkeeping",
    "MediaGrant": "who may download which upload (ids only); the uploads themselves are exported",
    "AuditEntry": "the admins' accountability record (ids and states), kept for the retention period",
    "ProcessedStripeEvent": "Stripe event ids",
    "WebhookDelivery": "Stripe's deliveries to us (billing records, kept for the retention period)",
    "SearchEvent": "anonymous per-tier counts",
    "SearchImpression": "anonymous exposure statistics of providers",
    "GeocodeCache": "place names to coordinates, shared",
    "NotificationClaim": "ids of processed events",
    "EmailWindow": "when the last notification email per collapse key went out (type and ids only)",
    "AccountToken": "hashes of single-use links (deleted with the account)",
}


class AccountService:
    async def export(self, user: User, now: datetime) -> dict[str, Any]:
        profile = await provider_service.get_by_owner(str(user.id))
        archive: dict[str, Any] = {"exported_at": now.isoformat(), "account": _public(user)}
        for section, find in EXPORTED.items():
            archive[section] = [d if isinstance(d, dict) else _public(d) for d in await find(user, profile)]
        # The conversations' whole history: what the user said and what was said to them. What they sent is
        # taken from there (every message belongs to a conversation of its sender's), so messages need no
        # index by sender: one index fewer on the hottest insert there is.
        archive["messages_sent"] = []
        for side in ("conversations_as_customer", "conversations_as_provider"):
            for conversation in archive[side]:
                messages = await Message.find({"conversation_id": conversation["_id"]}).sort("seq").to_list()
                conversation["messages"] = [_public(m) for m in messages]
                archive["messages_sent"] += [
                    m for m in conversation["messages"] if m["sender_id"] == str(user.id)
                ]
        return archive

    async def delete(self, user: User, realtime: RealtimeClient, now: datetime) -> None:
        uid = str(user.id)
        profile = await provider_service.get_by_owner(uid)
        # The account first: from here it cannot log in, and every session it had is refused.
        await User.get_pymongo_collection().update_one(
            {"_id": user.id},
            {
                "$set": {
                    "email": f"deleted-{uid}@deleted.invalid",
                    "display_name": DELETED_NAME,
                    "password_hash": await hash_password(secrets.token_urlsafe(32)),
                    "status": UserStatus.deleted.value,
                    "email_verified": False,
                },
                "$inc": {"session_generation": 1},
            },
        )
        session_cache.forget(uid)
        await realtime.disconnect_user(uid)
        if user.role is Role.customer:
            await ServiceRequest.get_pymongo_collection().update_many(
                {"customer_id": uid}, {"$set": {"address": REMOVED, "description": REMOVED}}
            )
        if profile is not None:
            await provider_service.erase(profile, DELETED_NAME)
        await ConsentRecord.get_pymongo_collection().update_many(
            {"user_id": uid}, {"$set": {"ip": None, "user_agent": None}}
        )
        for model, field, value in (
            (Notification, "recipient_id", uid),
            (NotificationDelivery, "recipient_id", uid),
            (NotificationPreferences, "user_id", uid),
            (AccountToken, "user_id", uid),
            (IdempotentRequest, "user_id", uid),
            (EmailMessage, "to", user.email),
        ):
            await model.find({field: value}).delete()
        log.info("account.deleted", user_id=uid, role=user.role.value)


account_service = AccountService()
