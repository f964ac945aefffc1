"""Session tokens: one implementation that the platform (HTTP) and the chat server (sockets) both trust.

A session is a signed JWT (HS256) carrying sub, role, iat, exp, jti and gen (the user's session generation).
Logging out revokes the jti; the revocation lives until the token would have expired (TTL index). A
password reset, a suspension and a deletion move the user's generation, ending every session issued before.
Each process keeps who a session belongs to in a `SessionCache`, so a check usually reads nothing.
"""

import asyncio
import contextlib
import functools
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from beanie import PydanticObjectId
from bson.errors import InvalidId
from pymongo.errors import DuplicateKeyError

from shared_models.clock import Clock, from_timestamp
from shared_models.documents import RevokedSession, User
from shared_models.enums import Role, UserStatus
from shared_models.errors import AppError, Forbidden, Unauthorized
from shared_models.services import session_cache
from shared_models.services.session_cache import SessionCache

ALGORITHM = "HS256"
VERIFIED_KEPT = 16_384  # verified tokens remembered per process (a few MB at most)
LATEST_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z, the last moment a datetime holds
MAX_GENERATION = 2**31 - 1
OBJECT_ID = re.compile(r"[0-9a-f]{24}")  # str(ObjectId): lower-case hex
JTI = re.compile(r"[A-Za-z0-9_-]{16,64}")  # secrets.token_urlsafe(16) and kin


class NotAuthenticated(Unauthorized):
    """No session token was sent at all."""

    code = "not_authenticated"
    message = "Log in to continue."


class SessionError(AppError):
    """Why a token does not open a session (one class per reason); `code` is what clients see."""


class InvalidToken(SessionError, Unauthorized):
    code = "invalid_token"
    message = "The session token is not valid."


class SessionExpired(SessionError, Unauthorized):
    code = "session_expired"
    message = "The session has expired; log in again."


class SessionRevoked(SessionError, Unauthorized):
    code = "session_revoked"
    message = "The session has been logged out."


class AccountSuspended(SessionError, Forbidden):
    """The account's sessions are refused (and so is a login: `platform_api.auth`)."""

    code = "account_suspended"
    message = "This account is suspended."


@dataclass(frozen=True)
class SessionClaims:
    user_id: PydanticObjectId
    role: Role
    jti: str
    issued_at: datetime
    expires_at: datetime
    generation: int | None = None  # the user's session generation at issue (None: a token from before it)


def issue_token(user: User, secret: str, ttl: timedelta, clock: Clock) -> tuple[str, SessionClaims]:
    assert user.id is not None
    now = clock.now().replace(microsecond=0)
    claims = SessionClaims(
        user_id=user.id,
        role=user.role,
        jti=secrets.token_urlsafe(16),
        issued_at=now,
        expires_at=now + ttl,
        generation=user.session_generation,
    )
    payload = {
        "sub": str(user.id),
        "role": user.role.value,
        "jti": claims.jti,
        "iat": int(now.timestamp()),
        "exp": int(claims.expires_at.timestamp()),
        "gen": user.session_generation,
    }
    return jwt.encode(payload, secret, algorithm=ALGORITHM), claims


def decode_token(token: str, secret: str, clock: Clock) -> SessionClaims:
    """Verify signature and shape; expiry is judged by our clock, not the wall clock inside PyJWT."""
    claims = _verified(token, secret)
    if claims.expires_at <= clock.now():
        raise SessionExpired()
    return claims


@functools.lru_cache(maxsize=VERIFIED_KEPT)
def _verified(token: str, secret: str) -> SessionClaims:
    """The claims of a token whose signature and shape hold. Remembered (the same string always verifies
    the same way; a failure raises and is not remembered): PyJWT's decode was a fifth of an authenticated
    request's time. Expiry and revocation are judged on every call, never remembered."""
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={
                "verify_exp": False,
                "verify_iat": False,
                "require": ["sub", "role", "jti", "exp", "iat"],
            },
        )
        if "=" in token:  # JWS segments are unpadded base64url: one spelling per token
            raise ValueError("padded segment")
        claims = SessionClaims(
            user_id=PydanticObjectId(_text(payload["sub"], OBJECT_ID)),
            role=Role(_text(payload["role"])),
            jti=_text(payload["jti"], JTI),
            issued_at=from_timestamp(_whole(payload["iat"], LATEST_SECONDS)),
            expires_at=from_timestamp(_whole(payload["exp"], LATEST_SECONDS)),
            generation=_whole(payload["gen"], MAX_GENERATION) if "gen" in payload else None,
        )
        if claims.issued_at > claims.expires_at:
            raise ValueError("issued after it expires")
    except (jwt.PyJWTError, InvalidId, ValueError, TypeError, KeyError, OverflowError) as exc:
        raise InvalidToken() from exc
    return claims


def _text(value: object, shape: re.Pattern[str] | None = None) -> str:
    """A claim that must be a non-empty string, spelled exactly as we issue it when `shape` is given."""
    if not isinstance(value, str) or not value or (shape is not None and not shape.fullmatch(value)):
        raise TypeError("expected a string of the issued shape")
    return value


def _whole(value: object, most: int) -> int:
    """A claim that must be a whole number in [0, most]: exactly an int as we issue it (not a bool, a
    float, a numeric string, Infinity), so no other spelling of a value is ever accepted."""
    if type(value) is not int or not 0 <= value <= most:
        raise ValueError("expected a whole number in range")
    return value


async def authenticate(
    token: str, secret: str, clock: Clock, cache: SessionCache | None = None
) -> tuple[User, SessionClaims]:
    """The whole check: signature, expiry, revocation, and an account that still exists and is active.

    With a `cache` (`shared_models.services.session_cache`, one per process, kept true by change streams) a known
    user costs no database read; without one, or while its streams are down or behind, it reads the user
    and the revocation. Raises SessionError (`invalid_token`, `session_expired`, `session_revoked`,
    `account_suspended`)."""
    claims = decode_token(token, secret, clock)
    if cache is not None:
        entry = await cache.user(claims.user_id)
        user, revoked = (entry.user, claims.jti in entry.revoked) if entry is not None else (None, False)
    else:
        # Both reads at once: one round trip of time.
        found, user = await asyncio.gather(
            RevokedSession.find_one(RevokedSession.jti == claims.jti), User.get(claims.user_id)
        )
        revoked = found is not None
    if revoked:
        raise SessionRevoked()
    if user is None:
        raise InvalidToken()
    if user.role is not claims.role:  # roles never change: a token that disagrees was not issued by us
        raise InvalidToken()
    if user.status is UserStatus.deleted:
        raise SessionRevoked("This account was deleted.")
    if user.status is not UserStatus.active:
        raise AccountSuspended()
    if (
        claims.generation != user.session_generation
        if claims.generation is not None
        else claims.issued_at.timestamp() < user.sessions_valid_after or user.session_generation > 0
    ):
        raise SessionRevoked("The session was ended (a password change, a suspension); log in again.")
    return user, claims


async def revoke(claims: SessionClaims, clock: Clock) -> None:
    """Idempotent: revoking twice (double logout, retried request) is not an error. This process's session
    caches forget the user before it returns; other processes' follow their change streams."""
    with contextlib.suppress(DuplicateKeyError):
        await RevokedSession(
            jti=claims.jti, user_id=str(claims.user_id), revoked_at=clock.now(), expires_at=claims.expires_at
        ).insert()
    session_cache.forget(str(claims.user_id))
