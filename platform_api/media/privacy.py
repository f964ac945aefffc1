"""The media domain's part of GDPR export: the account's uploads (their records; the files by their keys).
Erasure keeps them: evidence in disputes and photos in bookings are the counterpart's record too."""

from datetime import datetime

from platform_api.privacy import Section, Subject, find_by
from shared_models.documents import MediaObject

MODELS = ("MediaObject",)


async def export_for(subject: Subject) -> dict[str, Section]:
    return {"uploads": await find_by(MediaObject, "owner_id", subject.user_id)}


async def erase_for(subject: Subject, now: datetime) -> None:
    """Nothing to erase (see the module)."""
