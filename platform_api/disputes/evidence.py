"""Evidence: append-only items (a statement, or a confirmed upload of the author's, shared with the other
party by a media grant) from the parties while the dispute accepts them from that side, until its deadline."""

from datetime import datetime

import structlog
from beanie import PydanticObjectId

from platform_api.disputes.errors import DisputeNotFound, EvidenceClosed, EvidenceInvalid
from platform_api.disputes.reads import get_for_party
from platform_api.disputes.transitions import event as dispute_event
from platform_api.disputes.transitions import iso, party_role
from platform_api.errors import ValidationFailed
from platform_api.outbox.service import outbox_service
from shared_models.documents import Dispute, DisputeEvidence, DisputeState, EvidenceKind, User
from shared_models.enums import ActorRole
from shared_models.ids import parse_object_id, sortable_key
from shared_models.services.media import NotAttachable, attachable, grant

log = structlog.get_logger(__name__)


async def items(dispute: Dispute) -> list[DisputeEvidence]:
    return await DisputeEvidence.find({"dispute_id": str(dispute.id)}).sort("seq_key").to_list()


# --- evidence --------------------------------------------------------------------------------------


async def add_evidence(
    dispute_id: str,
    user: User,
    text: str | None,
    media_id: str | None,
    corrects: str | None,
    now: datetime,
) -> DisputeEvidence:
    """Append one item (a statement or a confirmed upload of the author's). Items are never changed."""
    dispute = await get_for_party(dispute_id, user)
    if dispute is None:
        raise DisputeNotFound("No such dispute.")
    role = party_role(dispute, str(user.id))
    assert role is not None
    if not accepts_from(dispute, role, now):
        raise EvidenceClosed(
            "Evidence is closed for you in this dispute.",
            details={"state": dispute.state.value, "respond_by": iso(dispute.respond_by)},
        )
    if (text is None) == (media_id is None):
        raise EvidenceInvalid("Give either text or media_id.", field="text")
    if corrects is not None:
        original = await DisputeEvidence.get(parse_object_id(corrects) or PydanticObjectId())
        if original is None or original.dispute_id != str(dispute.id) or original.author_id != str(user.id):
            raise ValidationFailed(
                "corrects must name an earlier item of yours in this dispute.", field="corrects"
            )
    oid = PydanticObjectId()
    item = DisputeEvidence(
        id=oid,
        dispute_id=str(dispute.id),
        author_id=str(user.id),
        author_role=role,
        kind=EvidenceKind.statement if text is not None else EvidenceKind.media,
        text=text,
        corrects=corrects,
        created_at=now,
        seq_key=sortable_key(now, oid),
    )
    if media_id is not None:
        try:
            (media,) = await attachable(str(user.id), [media_id])
        except NotAttachable as exc:
            raise NotAttachable(exc.message, field="media_id") from None
        item.media_id, item.media_key, item.filename = str(media.id), media.key, media.filename
        item.content_type, item.size, item.sha256 = media.content_type, media.size, media.sha256
        other = dispute.provider_user_id if role is ActorRole.customer else dispute.customer_id
        await grant([media], other, f"dispute:{dispute.id}", now)
    await item.insert()
    event = dispute_event(
        "dispute.evidence_added", dispute, now, event_id=f"dispute-evidence:{oid}", added_by=str(user.id)
    )
    await outbox_service.append([("dispute", str(dispute.id), event)], now)
    log.info("dispute.evidence_added", dispute_id=str(dispute.id), kind=item.kind.value, role=role.value)
    return item


def accepts_from(dispute: Dispute, role: ActorRole, now: datetime) -> bool:
    if dispute.state not in (DisputeState.open, DisputeState.awaiting_info):
        return False
    if dispute.respond_by is None or now >= dispute.respond_by:
        return False
    return dispute.evidence_from in ("both", role.value)
