"""The consent domain's part of GDPR export and erasure: the ledger of decisions. The records stay (proof of
what was agreed and when); the address and user agent they recorded are cleared."""

from datetime import datetime

from platform_api.privacy import Section, Subject, find_by
from shared_models import store
from shared_models.documents import ConsentRecord

MODELS = ("ConsentRecord",)


async def export_for(subject: Subject) -> dict[str, Section]:
    return {"consents": await find_by(ConsentRecord, "user_id", subject.user_id)}


async def erase_for(subject: Subject, now: datetime) -> None:
    await store.update_many(
        ConsentRecord, {"user_id": subject.user_id}, {"$set": {"ip": None, "user_agent": None}}
    )
