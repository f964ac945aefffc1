"""Admin console routes (OpenAPI tag `admin`); every one needs the admin role."""

from enum import StrEnum
from typing import Annotated

import structlog
from fastapi import APIRouter, Query

from platform_api.admin.accounts import AdminUserOut, admin_user
from platform_api.admin.errors import UserNotFound
from platform_api.audit.service import audit_service
from platform_api.auth.service import auth_service
from platform_api.billing.errors import DeliveryNotFound, StripeUnavailable, UnverifiedDelivery, WebhookFailed
from platform_api.billing.router import WebhookDep
from platform_api.billing.schemas import (
    DeliveryOut,
    DeliveryPage,
    DeliverySummary,
    SubscriptionOut,
    WebhookAck,
)
from platform_api.billing.service import billing_service
from platform_api.bookings.errors import RequestNotFound
from platform_api.bookings.service import booking_service
from platform_api.deps import READ_SESSION, WRITE_SESSION, AdminSession, ClockDep
from platform_api.entitlements import subscriptions
from platform_api.errors import (
    RoleForbidden,
    ValidationFailed,
    errors,
)
from platform_api.notifications.schemas import DeliveryOut as NotificationDeliveryOut
from platform_api.payments import service as payments
from platform_api.payments.errors import PaymentNotFound
from platform_api.payments.schemas import PaymentOut
from platform_api.providers.errors import ProviderNotFound
from platform_api.providers.service import provider_service
from platform_api.search.schemas import FairnessReport, TierExposure
from platform_api.search.service import search_service
from shared_models.clock import ClientMoment
from shared_models.documents import NotificationDelivery, WebhookDelivery
from shared_models.ids import SORTABLE_KEY_PATTERN, parse_object_id

router = APIRouter(prefix="/admin", tags=["admin"])
log = structlog.get_logger(__name__)


class DeliveryOutcome(StrEnum):
    received = "received"
    processed = "processed"
    duplicate = "duplicate"
    ignored = "ignored"
    rejected = "rejected"
    failed = "failed"


@router.get(
    "/users/{user_id}",
    summary="Look up any user account",
    response_model=AdminUserOut,
    responses=errors(*READ_SESSION, RoleForbidden, UserNotFound),
)
async def get_user(user_id: str, session: AdminSession) -> AdminUserOut:
    user = await auth_service.get_user(user_id)
    if user is None:
        raise UserNotFound()
    return await admin_user(user)


@router.get(
    "/billing/webhooks",
    summary="The Stripe webhook ledger: every delivery, newest first",
    response_model=DeliveryPage,
    responses=errors(*READ_SESSION, RoleForbidden),
)
async def list_webhook_deliveries(
    session: AdminSession,
    outcome: DeliveryOutcome | None = None,
    cursor: Annotated[str | None, Query(pattern=SORTABLE_KEY_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> DeliveryPage:
    items, next_cursor = await billing_service.deliveries(outcome.value if outcome else None, cursor, limit)
    return DeliveryPage(items=[DeliverySummary.of(d) for d in items], next_cursor=next_cursor)


@router.get(
    "/billing/webhooks/{delivery_id}",
    summary="One webhook delivery, raw: headers, body, outcome, error and traceback",
    response_model=DeliveryOut,
    responses=errors(*READ_SESSION, RoleForbidden, DeliveryNotFound),
)
async def get_webhook_delivery(delivery_id: str, session: AdminSession) -> DeliveryOut:
    oid = parse_object_id(delivery_id)
    delivery = await WebhookDelivery.get(oid) if oid else None
    if delivery is None:
        raise DeliveryNotFound()
    return DeliveryOut.full(delivery)


@router.post(
    "/billing/webhooks/{delivery_id}/reprocess",
    summary="Run a recorded delivery's event through the webhook handler again",
    description="Only deliveries whose signature was valid; the result is a new ledger entry "
    "(`source: reprocess`). Safe: the handler re-reads Stripe and applies each change once.",
    response_model=WebhookAck,
    responses=errors(
        *WRITE_SESSION, RoleForbidden, DeliveryNotFound, UnverifiedDelivery, WebhookFailed, StripeUnavailable
    ),
)
async def reprocess_webhook_delivery(
    delivery_id: str, session: AdminSession, webhook: WebhookDep, clock: ClockDep
) -> WebhookAck:
    outcome = await webhook.reprocess(delivery_id)
    if outcome is None:
        raise DeliveryNotFound()
    await audit_service.record(
        session.user_id, "webhook.reprocess", "webhook_delivery", delivery_id, None,
        {"outcome": outcome.status, "detail": outcome.detail}, clock.now(),
    )  # fmt: skip
    return WebhookAck(outcome=outcome.status, detail=outcome.detail)


@router.get(
    "/requests/{request_id}/payment",
    summary="A booking's payment: status, amounts, the platform fee, refunds and money instructions",
    response_model=PaymentOut,
    responses=errors(*READ_SESSION, RoleForbidden, RequestNotFound, PaymentNotFound),
)
async def booking_payment(request_id: str, session: AdminSession) -> PaymentOut:
    request = await booking_service.get(request_id)
    if request is None:
        raise RequestNotFound()
    return PaymentOut.of(await payments.view_of(request))


@router.get(
    "/providers/{provider_id}/subscription",
    summary="A provider's subscription as Stripe last confirmed it (read-only)",
    response_model=SubscriptionOut,
    responses=errors(*READ_SESSION, RoleForbidden, ProviderNotFound),
)
async def provider_subscription(provider_id: str, session: AdminSession) -> SubscriptionOut:
    if await provider_service.get(provider_id) is None:
        raise ProviderNotFound()
    return SubscriptionOut.of(await subscriptions.get_for_provider(provider_id))


@router.get(
    "/search/fairness",
    summary="Search exposure per tier against each tier's share of eligible providers",
    description="Over the searches in [since, until): each tier's share of impressions (providers shown) "
    "beside its share of the providers that matched those searches.",
    response_model=FairnessReport,
    responses=errors(*READ_SESSION, RoleForbidden, ValidationFailed),
)
async def search_fairness(session: AdminSession, since: ClientMoment, until: ClientMoment) -> FairnessReport:
    if until <= since:
        raise ValidationFailed("until must be after since.", field="until")
    searches, per_tier = await search_service.fairness(since, until)
    shown_total = sum(shown for shown, _ in per_tier.values())
    eligible_total = sum(eligible for _, eligible in per_tier.values())
    return FairnessReport(
        since=since,
        until=until,
        searches=searches,
        tiers=[
            TierExposure(
                tier=tier,
                impressions=shown,
                exposure_share=shown / shown_total if shown_total else 0.0,
                eligible=eligible,
                eligible_share=eligible / eligible_total if eligible_total else 0.0,
            )
            for tier, (shown, eligible) in per_tier.items()
        ],
    )


class AdminDeliveryOut(NotificationDeliveryOut):
    notification_id: str | None
    type: str


@router.get(
    "/users/{user_id}/notification-deliveries",
    summary="A user's notification delivery log, newest first: every channel attempt and its outcome",
    response_model=list[AdminDeliveryOut],
    responses=errors(*READ_SESSION, RoleForbidden, UserNotFound),
)
async def user_notification_deliveries(
    user_id: str, session: AdminSession, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[AdminDeliveryOut]:
    if await auth_service.get_user(user_id) is None:
        raise UserNotFound()
    found = await NotificationDelivery.find({"recipient_id": user_id}).sort("-at_key").limit(limit).to_list()
    return [
        AdminDeliveryOut(
            notification_id=d.notification_id, type=d.type, **NotificationDeliveryOut.of(d).model_dump()
        )
        for d in found
    ]
