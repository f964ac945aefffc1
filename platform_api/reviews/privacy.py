"""The reviews domain's part of GDPR export: reviews the user wrote and received. Erasure keeps them (a
provider's rating is built from them); the author shows as the deleted account."""

from datetime import datetime

from platform_api.privacy import Section, Subject, find_by
from shared_models.documents import Review

MODELS = ("Review",)


async def export_for(subject: Subject) -> dict[str, Section]:
    return {
        "reviews_written": await find_by(Review, "author_id", subject.user_id),
        "reviews_received": await find_by(Review, "subject_id", subject.user_id),
    }


async def erase_for(subject: Subject, now: datetime) -> None:
    """Nothing to erase (see the module)."""
