"""Attaching uploads and granting access to them: the rules both services apply (chat attachments are
checked by the chat server, dispute evidence by the platform).

An upload is attachable only by its owner and only once the platform confirmed it (`ready`); attaching
grants the other side of the conversation or dispute the right to download it.
"""

from datetime import datetime

from shared_models import store
from shared_models.documents import MediaGrant, MediaObject, MediaStatus
from shared_models.errors import Unprocessable
from shared_models.ids import parse_object_id


class NotAttachable(Unprocessable):
    """Not an upload of the sender's, or not confirmed yet (the message says which)."""

    code = "attachment_not_allowed"
    message = "Only your own confirmed uploads can be attached."


async def attachable(owner_id: str, media_ids: list[str]) -> list[MediaObject]:
    """The confirmed uploads of `owner_id` with these ids, in order; refuses anything else, saying which."""
    found: list[MediaObject] = []
    for media_id in media_ids:
        oid = parse_object_id(media_id)
        media = await MediaObject.get(oid) if oid else None
        if media is None or media.owner_id != owner_id:
            raise NotAttachable(f"{media_id} is not one of your uploads.")
        if media.status is not MediaStatus.ready:
            raise NotAttachable(
                f"{media_id} is not confirmed (POST /media/uploads/{media_id}/confirm first)."
            )
        found.append(media)
    return found


async def grant(media: list[MediaObject], user_id: str, reason: str, now: datetime) -> int:
    """Let `user_id` download these objects too; repeats are no-ops. Returns how many grants were new."""
    records = [
        MediaGrant(
            grant_key=f"{m.id}:{user_id}", media_id=str(m.id), user_id=user_id, reason=reason, created_at=now
        ).model_dump(by_alias=True, exclude={"id", "revision_id"})
        for m in media
        if m.owner_id != user_id
    ]
    return len(await store.insert_new(MediaGrant, records))


async def may_download(media: MediaObject, user_id: str) -> bool:
    if media.owner_id == user_id:
        return True
    return await MediaGrant.find_one({"grant_key": f"{media.id}:{user_id}"}) is not None
