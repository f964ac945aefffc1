"""Account mail: email verification and password reset, by single-use links.

A link carries a random token; only its SHA-256 is stored, with its purpose and expiry, and it is consumed
by one compare-and-set (`used: false → true`), so a link works once, before it expires, and never again.
A reset request answers the same whether or not the account exists (no enumeration), and a reset ends
every session issued before it.
"""

import hashlib
import secrets
from datetime import datetime, timedelta

import structlog

from platform_api.auth.errors import LinkInvalid
from platform_api.auth.service import hash_password
from platform_api.config import Settings
from shared_models import store
from shared_models.documents import AccountToken, User
from shared_models.enums import UserStatus
from shared_models.ids import parse_object_id
from shared_models.services import session_cache
from shared_models.services.notifications import queue_mail

log = structlog.get_logger(__name__)
VERIFY_TTL = timedelta(hours=48)
RESET_TTL = timedelta(minutes=30)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AccountMail:
    async def _issue(self, user: User, purpose: str, ttl: timedelta, now: datetime) -> str:
        token = secrets.token_urlsafe(32)
        await AccountToken(
            token_hash=_hash(token), user_id=str(user.id), purpose=purpose, expires_at=now + ttl
        ).insert()
        return token

    async def _consume(self, token: str, purpose: str, now: datetime) -> User | None:
        raw = await store.update_if(
            AccountToken,
            {"token_hash": _hash(token), "purpose": purpose, "used": False, "expires_at": {"$gt": now}},
            {"$set": {"used": True}},
            after=False,
        )
        oid = parse_object_id(str(raw["user_id"])) if raw else None
        return await User.get(oid) if oid else None

    async def _queue(
        self, user: User, token: str, template: str, subject: str, context: dict[str, object], now: datetime
    ) -> None:
        # The same token never mails twice.
        await queue_mail(
            f"{template}:{_hash(token)}",
            user.email,
            subject,
            template,
            {"name": user.display_name, **context},
            now,
            user_id=str(user.id),
        )

    async def send_verification(self, user: User, settings: Settings, now: datetime) -> None:
        token = await self._issue(user, "verify_email", VERIFY_TTL, now)
        link = f"{settings.app_url}/verify-email?token={token}"
        hours = int(VERIFY_TTL.total_seconds() // 3600)
        await self._queue(
            user, token, "verify_email", "Confirm your email address", {"link": link, "hours": hours}, now
        )

    async def verify(self, token: str, now: datetime) -> User:
        user = await self._consume(token, "verify_email", now)
        if user is None:
            raise LinkInvalid(field="token")
        await store.update_one(User, {"_id": user.id}, {"$set": {"email_verified": True}})
        session_cache.forget(str(user.id))
        user.email_verified = True
        log.info("auth.email_verified", user_id=str(user.id))
        return user

    async def request_reset(self, email: str, settings: Settings, now: datetime) -> None:
        """Mail a reset link if the account with this canonical `email` exists and is active; the caller
        answers the same either way."""
        user = await User.find_one(User.email == email)
        if user is None or user.status is not UserStatus.active:
            return
        token = await self._issue(user, "reset_password", RESET_TTL, now)
        link = f"{settings.app_url}/reset-password?token={token}"
        minutes = int(RESET_TTL.total_seconds() // 60)
        await self._queue(
            user, token, "password_reset", "Reset your password", {"link": link, "minutes": minutes}, now
        )
        log.info("auth.reset_requested", user_id=str(user.id))

    async def reset(self, token: str, password: str, now: datetime) -> User:
        user = await self._consume(token, "reset_password", now)
        if user is None:
            raise LinkInvalid(field="token")
        # Every session issued before this write ends (whoever knew the old password is logged out); every
        # one issued after it works, however soon: the generation moves in the same write as the password.
        await store.update_one(
            User,
            {"_id": user.id},
            {"$set": {"password_hash": await hash_password(password)}, "$inc": {"session_generation": 1}},
        )
        session_cache.forget(str(user.id))
        log.info("auth.password_reset", user_id=str(user.id))
        return user


account_mail = AccountMail()
