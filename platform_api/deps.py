"""Every FastAPI dependency getter: settings, clock, the app's long-lived clients (chat server, Stripe and
its webhook handler, media storage, rate limits, geocoder), the authenticated session, CSRF, role guards.

A leaf of the import graph: it imports no domain package at run time (the types it names for a domain's
client are imported for type checking only), so every domain can depend on it. A domain's `…Dep` alias
(`Annotated[Type, Depends(getter)]`) lives with the domain's router."""

import functools
import hmac
from dataclasses import dataclass
from hashlib import sha256
from typing import TYPE_CHECKING, Annotated

import stripe
from fastapi import Depends, Request

from platform_api.config import Settings
from platform_api.errors import CsrfFailed, NotAuthenticated, RoleForbidden
from platform_api.ratelimits import HttpLimits
from platform_api.realtime import RealtimeClient
from shared_models.clock import Clock
from shared_models.documents import User
from shared_models.enums import Role
from shared_models.services.sessions import (
    AccountSuspended,
    InvalidToken,
    SessionClaims,
    SessionExpired,
    SessionRevoked,
    authenticate,
)

if TYPE_CHECKING:
    from platform_api.billing.webhook import StripeWebhook
    from platform_api.media.service import MediaService
    from platform_api.search.geocoding import CachedGeocoder

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# What a route's session dependency can refuse with, for its `responses=errors(...)`: a read, and a write (a
# cookie-authenticated write also needs the CSRF header). A role guard adds `RoleForbidden`.
READ_SESSION = (NotAuthenticated, InvalidToken, SessionExpired, SessionRevoked, AccountSuspended)
WRITE_SESSION = (*READ_SESSION, CsrfFailed)


# Dependencies are `async def` even when they await nothing: a plain `def` one runs in the thread pool,
# a hand-off per dependency per request.
async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


async def get_realtime(request: Request) -> RealtimeClient:
    realtime: RealtimeClient = request.app.state.realtime
    return realtime


async def get_stripe(request: Request) -> stripe.StripeClient:
    client: stripe.StripeClient = request.app.state.stripe
    return client


async def get_webhook(request: Request) -> "StripeWebhook":
    webhook: StripeWebhook = request.app.state.stripe_webhook
    return webhook


async def get_media(request: Request) -> "MediaService":
    media: MediaService = request.app.state.media
    return media


async def get_limits(request: Request) -> HttpLimits:
    limits: HttpLimits = request.app.state.limits
    return limits


async def get_geocoder(request: Request) -> "CachedGeocoder":
    geocoder: CachedGeocoder = request.app.state.geocoder
    return geocoder


SettingsDep = Annotated[Settings, Depends(get_settings)]
StripeDep = Annotated[stripe.StripeClient, Depends(get_stripe)]
RealtimeDep = Annotated[RealtimeClient, Depends(get_realtime)]
ClockDep = Annotated[Clock, Depends(get_clock)]
LimitsDep = Annotated[HttpLimits, Depends(get_limits)]


def csrf_token_for(claims: SessionClaims, settings: Settings) -> str:
    """Bound to the session's jti, so a token planted by another site or session never matches."""
    return _csrf_token(settings.jwt_secret.get_secret_value(), claims.jti)


@functools.lru_cache(maxsize=16_384)
def _csrf_token(secret: str, jti: str) -> str:
    # Remembered per session: every cookie-authenticated write and `GET /auth/me` needs it.
    return hmac.new(secret.encode(), b"csrf:" + jti.encode(), sha256).hexdigest()


@dataclass(frozen=True)
class AuthSession:
    user: User
    claims: SessionClaims
    via_cookie: bool

    @property
    def user_id(self) -> str:
        return str(self.user.id)


def _bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


async def get_auth_session(request: Request) -> AuthSession:
    # Settings and clock straight from the app, not as dependencies: every authenticated request of every
    # route resolves this, and each dependency costs a resolution of its own.
    settings: Settings = request.app.state.settings
    clock: Clock = request.app.state.clock
    # Bearer wins over the cookie: a browser never attaches an Authorization header cross-site by itself,
    # so Bearer requests need no CSRF defence; cookie requests do.
    token = _bearer_token(request)
    via_cookie = token is None
    if token is None:
        token = request.cookies.get(settings.session_cookie_name)
    if not token:
        raise NotAuthenticated()
    # Raises the session's refusal (`shared_models.services.sessions.SessionError`): a 401, or 403 suspended.
    user, claims = await authenticate(
        token, settings.jwt_secret.get_secret_value(), clock, request.app.state.session_cache
    )
    if via_cookie and request.method not in SAFE_METHODS:
        sent = request.headers.get(settings.csrf_header_name, "")
        # compare_digest raises TypeError on a str with a non-ASCII character (Starlette decodes header
        # bytes as Latin-1): such a header is simply wrong.
        if not sent.isascii() or not hmac.compare_digest(sent, csrf_token_for(claims, settings)):
            raise CsrfFailed(
                f"Missing or wrong {settings.csrf_header_name} header for a cookie-authenticated request."
            )
    return AuthSession(user=user, claims=claims, via_cookie=via_cookie)


CurrentSession = Annotated[AuthSession, Depends(get_auth_session)]


class RoleGuard:
    """`Depends(RoleGuard(Role.admin))`: the session, if its user has one of the roles, else 403."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    async def __call__(self, session: CurrentSession) -> AuthSession:
        if session.user.role not in self.roles:
            allowed = ", ".join(sorted(r.value for r in self.roles))
            raise RoleForbidden(f"This action needs the role: {allowed}.")
        return session


AdminSession = Annotated[AuthSession, Depends(RoleGuard(Role.admin))]
ProviderSession = Annotated[AuthSession, Depends(RoleGuard(Role.provider))]
CustomerSession = Annotated[AuthSession, Depends(RoleGuard(Role.customer))]
PartySession = Annotated[AuthSession, Depends(RoleGuard(Role.customer, Role.provider))]
