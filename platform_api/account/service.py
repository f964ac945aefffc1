"""GDPR: export everything a user owns, and delete an account (erase or anonymise its personal data).

The account domain orchestrates and writes nothing itself: each domain exports and erases its own documents
(`<domain>/privacy.py`: `export_for(subject)` → sections, `erase_for(subject, now)`; `MODELS` names the
documents it covers). A test keeps every document model either covered by a domain here or listed in
`NOT_PERSONAL` with the reason.

Export: one JSON archive, `account` and a section per kind of data.

Deletion keeps what the counterpart needs (bookings, conversations, messages, disputes, reviews) in
anonymised form: the account's name and email are replaced (auth, first: from then on it cannot log in and
every session it had is refused; the chat server drops its sockets), the customer's addresses in bookings
are removed, IPs and user agents in the consent ledger are cleared, its notifications, preferences and
queued mail, its single-use links and stored create responses (idempotency keys) deleted, its provider
profile emptied and withdrawn from search.
"""

from datetime import datetime
from types import ModuleType
from typing import Any

import structlog

from platform_api import idempotency
from platform_api.auth import privacy as auth
from platform_api.billing import privacy as billing
from platform_api.bookings import privacy as bookings
from platform_api.consent import privacy as consent
from platform_api.conversations import privacy as conversations
from platform_api.disputes import privacy as disputes
from platform_api.media import privacy as media
from platform_api.notifications import privacy as notifications
from platform_api.payments import privacy as payments
from platform_api.privacy import Subject
from platform_api.providers import privacy as providers
from platform_api.providers.service import provider_service
from platform_api.realtime import RealtimeClient
from platform_api.reviews import privacy as reviews
from shared_models.documents import User

log = structlog.get_logger(__name__)

# Every domain holding personal data, in the order of erasure (the account itself first).
DOMAINS: tuple[ModuleType, ...] = (
    auth,
    bookings,
    providers,
    consent,
    notifications,
    idempotency,
    conversations,
    billing,
    payments,
    media,
    disputes,
    reviews,
)

# The collections an export covers, and those that hold nothing personal (with why): a test keeps every
# document model in one of the two.
EXPORTED_MODELS: frozenset[str] = frozenset(name for domain in DOMAINS for name in domain.MODELS)
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
        """The archive: `exported_at` (ISO 8601), `account` (the user, without the password hash), then each
        domain's sections (lists of documents as stored, JSON types)."""
        subject = Subject(user, await provider_service.get_by_owner(str(user.id)))
        archive: dict[str, Any] = {"exported_at": now.isoformat()}
        for domain in DOMAINS:
            sections = await domain.export_for(subject)
            archive.update(sections)
        archive["account"] = archive["account"][0]
        return archive

    async def delete(self, user: User, realtime: RealtimeClient, now: datetime) -> None:
        """Each domain erases its part, the account first; the user's sockets are dropped right after."""
        subject = Subject(user, await provider_service.get_by_owner(str(user.id)))
        for domain in DOMAINS:
            await domain.erase_for(subject, now)
            if domain is auth:
                await realtime.disconnect_user(subject.user_id)
        log.info("account.deleted", user_id=subject.user_id, role=user.role.value)


account_service = AccountService()
