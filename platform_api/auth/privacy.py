"""The auth domain's part of GDPR export and erasure: the account itself, its logged-out sessions and its
single-use links."""

import secrets
from datetime import datetime

from platform_api.auth.service import hash_password
from platform_api.privacy import DELETED_NAME, Section, Subject, find_by, public
from shared_models import store
from shared_models.documents import AccountToken, RevokedSession, User
from shared_models.enums import UserStatus
from shared_models.services import session_cache

MODELS = ("User", "RevokedSession")


async def export_for(subject: Subject) -> dict[str, Section]:
    return {
        "account": [public(subject.user)],
        "sessions_logged_out": await find_by(RevokedSession, "user_id", subject.user_id),
    }


async def erase_for(subject: Subject, now: datetime) -> None:
    """The account first: from here it cannot log in (new email, random password, status `deleted`), and
    every session it had is refused (the session generation moves on); its single-use links are dropped."""
    uid = subject.user_id
    await store.update_one(
        User,
        {"_id": subject.user.id},
        {
            "$set": {
                "email": f"deleted-{uid}@deleted.invalid",
                "display_name": DELETED_NAME,
                "password_hash": await hash_password(secrets.token_urlsafe(32)),
                "status": UserStatus.deleted.value,
                "email_verified": False,
            },
            "$inc": {"session_generation": 1},
        },
    )
    session_cache.forget(uid)
    await AccountToken.find({"user_id": uid}).delete()
