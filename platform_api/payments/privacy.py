"""The payments domain's part of GDPR export: the provider's connected account, the booking payments the
subject paid or was paid, and the money instructions given for them. Erasure keeps them: they are payment
records (ids and amounts, nothing else personal), kept for the retention period, and Stripe holds the card
and bank details, never us."""

from datetime import datetime

from platform_api.privacy import Section, Subject, find_by, public
from shared_models.documents.payments import BookingPayment, ConnectedAccount, PaymentInstruction

MODELS = ("ConnectedAccount", "BookingPayment", "PaymentInstruction")


async def export_for(subject: Subject) -> dict[str, Section]:
    provider_id = str(subject.profile.id) if subject.profile else None
    paid = await find_by(BookingPayment, "customer_id", subject.user_id)
    received = await find_by(BookingPayment, "provider_user_id", subject.user_id)
    request_ids = [p["_id"] for p in [*paid, *received]]
    instructions = await PaymentInstruction.find({"request_id": {"$in": request_ids}}).to_list()
    return {
        "connected_account": await find_by(ConnectedAccount, "provider_id", provider_id),
        "booking_payments": [*paid, *received],
        "payment_instructions": [public(i) for i in instructions],
    }


async def erase_for(subject: Subject, now: datetime) -> None:
    """Nothing to erase (payment records)."""
