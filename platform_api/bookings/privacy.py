"""The bookings domain's part of GDPR export and erasure: service requests on either side. Bookings stay
(the counterpart needs them); a deleted customer's address and description in them are removed."""

from datetime import datetime

from platform_api.privacy import Section, Subject, find_by
from shared_models import store
from shared_models.documents import ServiceRequest
from shared_models.enums import Role

MODELS = ("ServiceRequest",)
REMOVED = "(removed at the account holder's request)"


async def export_for(subject: Subject) -> dict[str, Section]:
    return {
        "requests_as_customer": await find_by(ServiceRequest, "customer_id", subject.user_id),
        "requests_as_provider": await find_by(ServiceRequest, "provider_user_id", subject.user_id),
    }


async def erase_for(subject: Subject, now: datetime) -> None:
    if subject.user.role is Role.customer:
        await store.update_many(
            ServiceRequest,
            {"customer_id": subject.user_id},
            {"$set": {"address": REMOVED, "description": REMOVED}},
        )
