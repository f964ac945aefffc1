"""The disputes domain's part of GDPR export: disputes on either side and the evidence the user gave.
Erasure keeps them (the counterpart's and the admins' record of a decision)."""

from datetime import datetime

from platform_api.privacy import Section, Subject, find_by
from shared_models.documents import Dispute, DisputeEvidence

MODELS = ("Dispute", "DisputeEvidence")


async def export_for(subject: Subject) -> dict[str, Section]:
    uid = subject.user_id
    return {
        "disputes_as_customer": await find_by(Dispute, "customer_id", uid),
        "disputes_as_provider": await find_by(Dispute, "provider_user_id", uid),
        "dispute_evidence": await find_by(DisputeEvidence, "author_id", uid),
    }


async def erase_for(subject: Subject, now: datetime) -> None:
    """Nothing to erase (see the module)."""
