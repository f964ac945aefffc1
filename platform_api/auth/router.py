"""Auth routes: register, login, logout, me."""

import structlog
from fastapi import APIRouter, Request, Response, status

from platform_api.auth.account import account_mail
from platform_api.auth.errors import ConsentRequired, EmailTaken, InvalidCredentials, LinkInvalid
from platform_api.auth.schemas import (
    AcceptedOut,
    LoginRequest,
    MeOut,
    PasswordResetConfirm,
    PasswordResetRequest,
    RegisterRequest,
    SessionOut,
    UserOut,
    VerifyEmailRequest,
)
from platform_api.auth.service import auth_service
from platform_api.config import Settings
from platform_api.consent.service import request_origin
from platform_api.deps import (
    READ_SESSION,
    WRITE_SESSION,
    ClockDep,
    CurrentSession,
    LimitsDep,
    RealtimeDep,
    SettingsDep,
    csrf_token_for,
)
from platform_api.errors import (
    RateLimited,
    errors,
)
from platform_api.providers.errors import ProfileExists, SlugUnavailable
from platform_api.providers.schemas import ProviderProfileOut
from platform_api.providers.service import provider_service
from platform_api.ratelimits import client_ip
from shared_models.documents import ProviderProfile, User
from shared_models.enums import Role
from shared_models.services.sessions import AccountSuspended, SessionClaims

router = APIRouter(prefix="/auth", tags=["auth"])
log = structlog.get_logger(__name__)


def _set_session_cookies(response: Response, token: str, claims: SessionClaims, settings: Settings) -> str:
    csrf = csrf_token_for(claims, settings)
    common = {
        "max_age": settings.session_ttl_seconds,
        "path": "/",
        "samesite": "lax",
        "secure": settings.secure_cookies,
    }
    response.set_cookie(settings.session_cookie_name, token, httponly=True, **common)  # type: ignore[arg-type]
    # Readable by the SPA's JavaScript on purpose: it echoes it in the X-CSRF-Token header.
    response.set_cookie(settings.csrf_cookie_name, csrf, httponly=False, **common)  # type: ignore[arg-type]
    return csrf


def _session_out(
    token: str, claims: SessionClaims, csrf: str, user: User, profile: ProviderProfile | None
) -> SessionOut:
    return SessionOut(
        access_token=token,
        expires_at=claims.expires_at,
        csrf_token=csrf,
        user=UserOut.of(user),
        provider=ProviderProfileOut.of(profile) if profile else None,
    )


@router.post(
    "/register",
    summary="Create a customer or provider account and start a session",
    status_code=status.HTTP_201_CREATED,
    response_model=SessionOut,
    responses=errors(ConsentRequired, EmailTaken, ProfileExists, SlugUnavailable, RateLimited),
)
async def register(
    body: RegisterRequest,
    request: Request,
    response: Response,
    settings: SettingsDep,
    clock: ClockDep,
    limits: LimitsDep,
) -> SessionOut:
    await limits.check("register_ip", client_ip(request))
    origin = request_origin(request, "signup")
    user, profile = await auth_service.register(body, clock, settings, origin)
    log.info("auth.registered", user_id=str(user.id), role=user.role.value)
    await account_mail.send_verification(user, settings, clock.now())
    token, claims = await auth_service.start_session(user, settings, clock)
    csrf = _set_session_cookies(response, token, claims, settings)
    return _session_out(token, claims, csrf, user, profile)


@router.post(
    "/login",
    summary="Log in with email and password",
    response_model=SessionOut,
    responses=errors(InvalidCredentials, AccountSuspended, RateLimited),
)
async def login(
    body: LoginRequest,
    request: Request,
    response: Response,
    settings: SettingsDep,
    clock: ClockDep,
    limits: LimitsDep,
) -> SessionOut:
    # Per IP (one address guessing many accounts) and per account (many addresses guessing one).
    await limits.check("login_ip", client_ip(request))
    await limits.check("login_account", body.email)
    user = await auth_service.check_credentials(body.email, body.password)
    token, claims = await auth_service.start_session(user, settings, clock)
    csrf = _set_session_cookies(response, token, claims, settings)
    profile = await provider_service.get_by_owner(str(claims.user_id))
    return _session_out(token, claims, csrf, user, profile)


@router.post(
    "/logout",
    summary="End this session (the token stops working on every service)",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(*WRITE_SESSION),
)
async def logout(
    session: CurrentSession, settings: SettingsDep, clock: ClockDep, realtime: RealtimeDep
) -> Response:
    await auth_service.end_session(session.claims, clock)
    await realtime.disconnect_session(session.claims.jti, session.user_id)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    for name in (settings.session_cookie_name, settings.csrf_cookie_name):
        response.delete_cookie(name, path="/", samesite="lax", secure=settings.secure_cookies)
    return response


@router.get(
    "/me",
    summary="The signed-in user, their provider profile and the session's CSRF token",
    response_model=MeOut,
    responses=errors(*READ_SESSION),
)
async def me(session: CurrentSession, settings: SettingsDep) -> MeOut:
    profile = (
        await provider_service.get_by_owner(session.user_id) if session.user.role is Role.provider else None
    )
    return MeOut(
        user=UserOut.of(session.user),
        provider=ProviderProfileOut.of(profile) if profile else None,
        csrf_token=csrf_token_for(session.claims, settings),
        session_expires_at=session.claims.expires_at,
    )


@router.post(
    "/verify-email",
    summary="Confirm the email address with the emailed link's token",
    response_model=UserOut,
    responses=errors(LinkInvalid),
)
async def verify_email(body: VerifyEmailRequest, clock: ClockDep) -> UserOut:
    return UserOut.of(await account_mail.verify(body.token, clock.now()))


@router.post(
    "/verify-email/resend",
    summary="Mail a new verification link to the signed-in user",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=AcceptedOut,
    responses=errors(*WRITE_SESSION, RateLimited),
)
async def resend_verification(
    request: Request, session: CurrentSession, settings: SettingsDep, clock: ClockDep, limits: LimitsDep
) -> AcceptedOut:
    await limits.check("verify_resend_ip", client_ip(request))
    await limits.check("verify_resend_account", session.user_id)
    if session.user.email_verified:
        return AcceptedOut(status="The email address is already confirmed.")
    await account_mail.send_verification(session.user, settings, clock.now())
    return AcceptedOut(status="A new link is on its way.")


RESET_ANSWER = "If an account uses this address, a reset link is on its way."


@router.post(
    "/password-reset",
    summary="Mail a password reset link (the same answer whether or not the account exists)",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=AcceptedOut,
    responses=errors(RateLimited),
)
async def request_password_reset(
    body: PasswordResetRequest, request: Request, settings: SettingsDep, clock: ClockDep, limits: LimitsDep
) -> AcceptedOut:
    await limits.check("reset_ip", client_ip(request))
    await limits.check("reset_account", body.email)
    await account_mail.request_reset(body.email, settings, clock.now())
    return AcceptedOut(status=RESET_ANSWER)


@router.post(
    "/password-reset/confirm",
    summary="Set a new password with the emailed link's token (ends every existing session)",
    response_model=UserOut,
    responses=errors(LinkInvalid),
)
async def confirm_password_reset(
    body: PasswordResetConfirm, clock: ClockDep, realtime: RealtimeDep
) -> UserOut:
    user = await account_mail.reset(body.token, body.password, clock.now())
    await realtime.disconnect_user(str(user.id))  # every session ended: its live sockets too
    return UserOut.of(user)
