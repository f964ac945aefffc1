"""Accounts and sessions: registration, credential checks, session start and end. The only writer of User."""

import asyncio
import contextlib
from datetime import datetime, timedelta
from functools import cache

import structlog
from beanie import PydanticObjectId
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from pymongo.errors import DuplicateKeyError

from platform_api.auth.errors import AccountDeleted, ConsentRequired, EmailTaken, InvalidCredentials
from platform_api.auth.schemas import RegisterRequest
from platform_api.config import Settings
from platform_api.consent.service import MARKETING, Origin, consent_service
from platform_api.errors import ConcurrentUpdate
from platform_api.providers.service import provider_service
from platform_api.realtime import RealtimeClient
from shared_models import store
from shared_models.clock import Clock
from shared_models.documents import DomainEvent, ProviderProfile, User
from shared_models.documents.users import after_prefix, canonical_email, canonical_email_prefix
from shared_models.enums import Role, UserStatus
from shared_models.ids import parse_object_id
from shared_models.services import session_cache
from shared_models.services.outbox import append_events
from shared_models.services.sessions import AccountSuspended, SessionClaims, issue_token, revoke

log = structlog.get_logger(__name__)
INCOMPLETE_GRACE = timedelta(minutes=2)  # far longer than any sign-up takes
# OWASP's recommended argon2id profile (19 MiB, 2 passes, 1 lane): ~24 ms a hash here, against ~104 ms and
# both cores for the library default (64 MiB, 3, 4), which capped login at ~10/s on a 2-core host.
# verify_and_update rehashes stored hashes of other parameters at the next login.
password_hasher = PasswordHash((Argon2Hasher(time_cost=2, memory_cost=19 * 1024, parallelism=1),))


@cache
def _dummy_hash() -> str:
    return password_hasher.hash("not-a-real-password-only-for-timing")


# argon2 costs ~100 ms of CPU by design; in a worker thread (argon2-cffi releases the GIL) it neither
# stalls every other request on the event loop nor stops hashes running on both cores.
async def hash_password(password: str) -> str:
    return await asyncio.to_thread(password_hasher.hash, password)


async def verify_password(password: str, hashed: str) -> tuple[bool, str | None]:
    return await asyncio.to_thread(password_hasher.verify_and_update, password, hashed)


class AuthService:
    async def register(
        self, data: RegisterRequest, clock: Clock, settings: Settings, origin: Origin
    ) -> tuple[User, ProviderProfile | None]:
        for field, accepted, current in (
            ("accepted_terms_version", data.accepted_terms_version, settings.terms_version),
            ("accepted_privacy_version", data.accepted_privacy_version, settings.privacy_version),
        ):
            if accepted != current:
                raise ConsentRequired(f"Accept the current version ({current}) to sign up.", field=field)
        now = clock.now()
        user = User(
            email=data.email,
            password_hash=await hash_password(data.password),
            role=data.role,
            display_name=data.display_name,
            complete=False,
            created_at=now,
            updated_at=now,
        )
        try:
            await user.insert()
        except DuplicateKeyError:
            raise EmailTaken(field="email") from None
        # No multi-document transaction (the embedded engine's are not isolated): the account is inserted
        # incomplete, then its consents and profile, then it is marked complete. If anything fails it is
        # removed again; if even that fails (the database went away), it stays incomplete (it cannot log
        # in) and `remove_incomplete` sweeps it. So no usable account lacks its consents or its tenant.
        uid = str(user.id)
        try:
            await consent_service.record(uid, "terms", True, origin, now, data.accepted_terms_version)
            await consent_service.record(uid, "privacy", True, origin, now, data.accepted_privacy_version)
            await consent_service.record(uid, MARKETING, data.marketing_opt_in, origin, now)
            profile = None
            if data.role is Role.provider and data.provider is not None:
                profile = await provider_service.create_for_owner(user, data.provider, clock)
            await store.update_one(User, {"_id": user.id}, {"$set": {"complete": True}})
            session_cache.forget(uid)
            user.complete = True
        except BaseException:
            with contextlib.suppress(Exception):
                await self._remove(uid)
            raise
        return user, profile

    async def _remove(self, user_id: str) -> None:
        await provider_service.delete_for_owner(user_id)
        await consent_service.remove_for(user_id)
        await User.find({"_id": PydanticObjectId(user_id), "complete": False}).delete()

    async def remove_incomplete(self, now: datetime, older_than: timedelta = INCOMPLETE_GRACE) -> int:
        """The sweep: remove accounts a failed sign-up left incomplete (never usable: they cannot log in)."""
        stale = await User.find({"complete": False, "created_at": {"$lte": now - older_than}}).to_list()
        for user in stale:
            await self._remove(str(user.id))
        if stale:
            log.warning("auth.incomplete_removed", users=len(stale))
        return len(stale)

    async def create_admin(self, email: str, password: str, display_name: str, clock: Clock) -> User:
        """Raises `InvalidEmail` for an address email-validator rejects, `EmailTaken` when it is taken."""
        now = clock.now()
        user = User(
            email=canonical_email(email),
            password_hash=await hash_password(password),
            role=Role.admin,
            display_name=display_name,
            created_at=now,
            updated_at=now,
        )
        try:
            return await user.insert()
        except DuplicateKeyError:
            raise EmailTaken(field="email") from None

    async def check_credentials(self, email: str, password: str) -> User:
        """`email` in its canonical form (`canonical_email`). The same 401 body, and about the same time, for
        an unknown email and a wrong password."""
        user = await User.find_one(User.email == email)
        if user is None:
            await verify_password(password, _dummy_hash())
            raise InvalidCredentials()
        valid, new_hash = await verify_password(password, user.password_hash)
        if not valid:
            raise InvalidCredentials()
        # The hash check takes tens of milliseconds: a password reset, a suspension or a deletion may have
        # landed meanwhile. Judge the account as it is now, so a login that overlapped a reset is refused
        # instead of answered with a session the reset already ended.
        current = await User.get(user.id)
        if current is None or current.password_hash != user.password_hash:
            raise InvalidCredentials()
        user = current
        if not user.complete:  # a sign-up that never finished: as if it did not exist
            raise InvalidCredentials()
        if user.status is not UserStatus.active:
            raise AccountSuspended()
        if new_hash is not None:  # a rehash under newer parameters: the stored hash and this copy alike
            await store.update_one(User, {"_id": user.id}, {"$set": {"password_hash": new_hash}})
            user.password_hash = new_hash
            session_cache.forget(str(user.id))
        return user

    async def set_suspended(
        self, user: User, suspended: bool, reason: str | None, realtime: RealtimeClient, now: datetime
    ) -> User:
        """Suspend (every live session ends, sockets drop, the user is told) or lift a suspension (old
        sessions stay dead: the user logs in again). A compare-and-set on the current status."""
        if user.status is UserStatus.deleted:
            raise AccountDeleted()
        target = UserStatus.suspended if suspended else UserStatus.active
        if user.status is target:
            return user
        after: User = user.model_copy(update={"status": target, "updated_at": now})
        if suspended:
            after.session_generation += 1
        replaced = await store.replace_if({"_id": user.id, "status": user.status.value}, after)
        if replaced is None:
            raise ConcurrentUpdate("The account changed meanwhile; reload it.")
        session_cache.forget(str(user.id))
        if suspended:
            await realtime.disconnect_user(str(user.id))
            event = DomainEvent(
                type="account.suspended",
                occurred_at=now,
                payload={"recipient_id": str(user.id), "reason": reason},
            )
            await append_events([("user", str(user.id), event)], now)
        log.info("auth.status_changed", user_id=str(user.id), status=target.value)
        return after

    async def search(
        self,
        email_prefix: str | None,
        role: Role | None,
        status: UserStatus | None,
        after: str | None,
        limit: int,
    ) -> tuple[list[User], str | None]:
        """Accounts by email prefix (the unique email index serves the range), in email order, paged by the
        last email seen; role and status narrow the page."""
        prefix = canonical_email_prefix(email_prefix or "")
        bounds: dict[str, str] = {"$gte": prefix}
        if (upper := after_prefix(prefix)) is not None:
            bounds["$lt"] = upper
        if after is not None:
            bounds["$gt"] = after
        query: dict[str, object] = {"email": bounds}
        if role is not None:
            query["role"] = role.value
        if status is not None:
            query["status"] = status.value
        found = await User.find(query).sort("email").limit(limit + 1).to_list()
        return found[:limit], found[limit - 1].email if len(found) > limit else None

    async def get_user(self, user_id: str) -> User | None:
        oid = parse_object_id(user_id)
        return await User.get(oid) if oid else None

    async def start_session(self, user: User, settings: Settings, clock: Clock) -> tuple[str, SessionClaims]:
        token, claims = issue_token(
            user,
            settings.jwt_secret.get_secret_value(),
            timedelta(seconds=settings.session_ttl_seconds),
            clock,
        )
        log.info("auth.session_started", user_id=str(user.id), role=user.role.value, jti=claims.jti)
        return token, claims

    async def end_session(self, claims: SessionClaims, clock: Clock) -> None:
        await revoke(claims, clock)
        log.info("auth.session_ended", user_id=str(claims.user_id), jti=claims.jti)


auth_service = AuthService()
