"""The providers domain's part of GDPR export and erasure: the provider profile."""

from datetime import datetime

from platform_api.privacy import DELETED_NAME, Section, Subject, public
from platform_api.providers.service import provider_service

MODELS = ("ProviderProfile",)


async def export_for(subject: Subject) -> dict[str, Section]:
    return {"provider_profile": [public(subject.profile)] if subject.profile else []}


async def erase_for(subject: Subject, now: datetime) -> None:
    """The profile keeps its id (bookings point at it) and nothing else, and leaves search."""
    if subject.profile is not None:
        await provider_service.erase(subject.profile, DELETED_NAME)
