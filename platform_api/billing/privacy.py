"""The billing domain's part of GDPR export: the provider's subscription (as the webhook stored it, read
through `subscriptions`) and its Stripe customer. Erasure keeps them: they are billing records, kept for the
retention period, and Stripe holds the customer."""

from datetime import datetime

from platform_api.entitlements import subscriptions
from platform_api.privacy import Section, Subject, find_by
from shared_models.documents import BillingCustomer

MODELS = (subscriptions.DOCUMENT_NAME, "BillingCustomer")


async def export_for(subject: Subject) -> dict[str, Section]:
    provider_id = str(subject.profile.id) if subject.profile else None
    return {
        "subscription": await subscriptions.export_for_provider(provider_id) if provider_id else [],
        "billing_customer": await find_by(BillingCustomer, "provider_id", provider_id),
    }


async def erase_for(subject: Subject, now: datetime) -> None:
    """Nothing to erase (billing records)."""
