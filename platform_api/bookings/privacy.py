"""The bookings domain's part of GDPR export and erasure: service requests on either side. Bookings stay
(the counterpart needs them); a deleted customer's address and description in them are removed, and the
requests no provider has accepted yet are cancelled (nobody is left to serve; a card authorisation is
released by the payments settlement, so a provider can no longer accept and charge a deleted customer)."""

import contextlib
from datetime import datetime

from platform_api.bookings.service import Actor, booking_service
from platform_api.errors import Conflict
from platform_api.privacy import Section, Subject, find_by
from shared_models import store
from shared_models.documents import ServiceRequest
from shared_models.enums import ActorRole, RequestEvent, RequestState, Role

MODELS = ("ServiceRequest",)
REMOVED = "(removed at the account holder's request)"


async def export_for(subject: Subject) -> dict[str, Section]:
    return {
        "requests_as_customer": await find_by(ServiceRequest, "customer_id", subject.user_id),
        "requests_as_provider": await find_by(ServiceRequest, "provider_user_id", subject.user_id),
    }


async def erase_for(subject: Subject, now: datetime) -> None:
    if subject.user.role is Role.customer:
        await _cancel_open_requests(subject, now)
        await store.update_many(
            ServiceRequest,
            {"customer_id": subject.user_id},
            {"$set": {"address": REMOVED, "description": REMOVED}},
        )


async def _cancel_open_requests(subject: Subject, now: datetime) -> None:
    customer = Actor(id=subject.user_id, role=ActorRole.customer)
    open_requests = await ServiceRequest.find(
        {"customer_id": subject.user_id, "state": RequestState.requested.value}
    ).to_list()
    for request in open_requests:
        # Lost to the provider or the expiry meanwhile, or already past its deadline: it ends there anyway.
        with contextlib.suppress(Conflict):
            await booking_service.transition(
                request, RequestEvent.cancel, customer, now, reason="The customer deleted their account."
            )
