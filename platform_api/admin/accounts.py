"""The admin console's accounts: search and suspend users, view and verify providers, read the audit log.
Every action that changes something is written to the audit log; repeating one (a second click, a second
admin) answers the current state and records nothing."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from platform_api.admin.errors import CannotSuspendSelf, UserNotFound
from platform_api.audit.service import audit_service
from platform_api.auth.errors import AccountDeleted
from platform_api.auth.schemas import UserOut
from platform_api.auth.service import auth_service
from platform_api.billing.schemas import SubscriptionOut
from platform_api.deps import READ_SESSION, WRITE_SESSION, AdminSession, ClockDep, RealtimeDep
from platform_api.entitlements import subscriptions
from platform_api.errors import (
    ConcurrentUpdate,
    Conflict,
    RoleForbidden,
    ValidationFailed,
    errors,
)
from platform_api.providers.errors import ProviderNotFound
from platform_api.providers.schemas import ProviderProfileOut
from platform_api.providers.service import provider_service
from platform_api.realtime import RealtimeClient
from shared_models.documents import AuditEntry, ProviderProfile, User
from shared_models.enums import Role, UserStatus
from shared_models.ids import SORTABLE_KEY_PATTERN, Ref
from shared_models.text import Written

router = APIRouter(prefix="/admin", tags=["admin"])


class AdminUserOut(UserOut):
    """An account as the admin console shows it: with the way to its provider profile."""

    provider_id: str | None = Field(
        description="The provider profile of a provider (GET /admin/providers/{id}); null for other roles."
    )

    @classmethod
    def with_profile(cls, user: User, provider_id: str | None) -> "AdminUserOut":
        return cls(**UserOut.of(user).model_dump(), provider_id=provider_id)


async def admin_users(users: list[User]) -> list[AdminUserOut]:
    """The accounts with their providers' profile ids, read in one query for the whole list."""
    profiles = await provider_service.ids_by_owner([str(u.id) for u in users if u.role is Role.provider])
    return [AdminUserOut.with_profile(u, profiles.get(str(u.id))) for u in users]


async def admin_user(user: User) -> AdminUserOut:
    (out,) = await admin_users([user])
    return out


class UserPage(BaseModel):
    items: list[AdminUserOut]
    next_cursor: str | None = Field(description="Pass as `after` for the next page.")


class SuspendIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "Repeated chargeback fraud."}]})

    reason: Written = Field(min_length=3, max_length=500, description="Told to the user.")


class AdminProviderOut(BaseModel):
    profile: ProviderProfileOut
    owner: UserOut
    verified_at: str | None
    subscription: SubscriptionOut


class AuditOut(BaseModel):
    id: str
    actor_id: str
    action: str
    target_type: str
    target_id: str
    before: dict[str, object] | None
    after: dict[str, object] | None
    at: str
    cursor: str

    @classmethod
    def of(cls, e: AuditEntry) -> "AuditOut":
        return cls(
            id=str(e.id), actor_id=e.actor_id, action=e.action, target_type=e.target_type,
            target_id=e.target_id, before=e.before, after=e.after, at=e.at.isoformat(), cursor=e.at_key,
        )  # fmt: skip


class AuditPage(BaseModel):
    items: list[AuditOut]
    next_cursor: str | None


async def _user(user_id: str) -> User:
    user = await auth_service.get_user(user_id)
    if user is None:
        raise UserNotFound()
    return user


async def _provider(provider_id: str) -> ProviderProfile:
    profile = await provider_service.get(provider_id)
    if profile is None:
        raise ProviderNotFound()
    return profile


async def _set_suspended(
    user: User, suspended: bool, reason: str | None, realtime: RealtimeClient, now: datetime
) -> tuple[User, bool]:
    """The account as it now is, and whether this call changed it. Already so — a second click, or another
    admin's same change a moment earlier, which won the compare-and-set — is not a change."""
    target = UserStatus.suspended if suspended else UserStatus.active
    try:
        after = await auth_service.set_suspended(user, suspended, reason, realtime, now)
    except Conflict as exc:
        current = await _user(str(user.id))
        if not isinstance(exc, ConcurrentUpdate) or current.status is not target:
            raise
        return current, False
    return after, user.status is not after.status


def _status(user: User) -> dict[str, object]:
    return {"status": user.status.value}


@router.get(
    "/users",
    summary="Search accounts by email prefix, narrowed by role and status",
    response_model=UserPage,
    responses=errors(*READ_SESSION, RoleForbidden),
)
async def search_users(
    session: AdminSession,
    email: Annotated[
        str | None,
        Query(
            max_length=320,
            description="Email prefix, in any spelling of the address (compared in its canonical form: NFC, lower case).",
        ),
    ] = None,
    role: Role | None = None,
    status: UserStatus | None = None,
    after: Annotated[str | None, Query(max_length=320)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> UserPage:
    items, next_cursor = await auth_service.search(email, role, status, after, limit)
    return UserPage(items=await admin_users(items), next_cursor=next_cursor)


@router.post(
    "/users/{user_id}/suspend",
    summary="Suspend an account: its sessions end at once, its sockets drop, it is told why",
    response_model=AdminUserOut,
    responses=errors(
        *WRITE_SESSION, RoleForbidden, UserNotFound, CannotSuspendSelf, AccountDeleted, ConcurrentUpdate
    ),
)
async def suspend_user(
    user_id: str, body: SuspendIn, session: AdminSession, clock: ClockDep, realtime: RealtimeDep
) -> AdminUserOut:
    user = await _user(user_id)
    if user_id == session.user_id:
        raise CannotSuspendSelf()
    now = clock.now()
    after, changed = await _set_suspended(user, True, body.reason, realtime, now)
    if not changed:  # already suspended (a second click, another admin): nothing to record
        return await admin_user(after)
    await audit_service.record(
        session.user_id, "user.suspend", "user", user_id, _status(user), {**_status(after), "reason": body.reason},
        now,
    )  # fmt: skip
    return await admin_user(after)


@router.post(
    "/users/{user_id}/unsuspend",
    summary="Lift a suspension (the user logs in again; old sessions stay ended)",
    response_model=AdminUserOut,
    responses=errors(*WRITE_SESSION, RoleForbidden, UserNotFound, AccountDeleted, ConcurrentUpdate),
)
async def unsuspend_user(
    user_id: str, session: AdminSession, clock: ClockDep, realtime: RealtimeDep
) -> AdminUserOut:
    user = await _user(user_id)
    now = clock.now()
    after, changed = await _set_suspended(user, False, None, realtime, now)
    if not changed:  # not suspended: nothing to record
        return await admin_user(after)
    await audit_service.record(
        session.user_id, "user.unsuspend", "user", user_id, _status(user), _status(after), now
    )
    return await admin_user(after)


@router.get(
    "/providers/{provider_id}",
    summary="A provider: profile, owner account, verification and subscription (read-only)",
    response_model=AdminProviderOut,
    responses=errors(*READ_SESSION, RoleForbidden, ProviderNotFound, UserNotFound),
)
async def get_provider(provider_id: str, session: AdminSession) -> AdminProviderOut:
    profile = await _provider(provider_id)
    owner = await _user(profile.owner_id)
    return AdminProviderOut(
        profile=ProviderProfileOut.of(profile),
        owner=UserOut.of(owner),
        verified_at=profile.verified_at.isoformat() if profile.verified_at else None,
        subscription=SubscriptionOut.of(await subscriptions.get_for_provider(provider_id)),
    )


async def _set_verified(
    provider_id: str, verified: bool, session: AdminSession, clock: ClockDep
) -> ProviderProfileOut:
    profile = await _provider(provider_id)
    now = clock.now()
    after, changed = await provider_service.set_verified(provider_id, verified, now)
    if not changed:  # already so (a second click, another admin at the same moment): nothing to record
        return ProviderProfileOut.of(after)
    await audit_service.record(
        session.user_id, "provider.verify" if verified else "provider.unverify", "provider", provider_id,
        {"verified": profile.verified}, {"verified": after.verified}, now,
    )  # fmt: skip
    return ProviderProfileOut.of(after)


@router.post(
    "/providers/{provider_id}/verify",
    summary="Mark a provider as verified (identity and licences checked)",
    response_model=ProviderProfileOut,
    responses=errors(*WRITE_SESSION, RoleForbidden, ProviderNotFound, ConcurrentUpdate),
)
async def verify_provider(provider_id: str, session: AdminSession, clock: ClockDep) -> ProviderProfileOut:
    return await _set_verified(provider_id, True, session, clock)


@router.post(
    "/providers/{provider_id}/unverify",
    summary="Withdraw a provider's verification",
    response_model=ProviderProfileOut,
    responses=errors(*WRITE_SESSION, RoleForbidden, ProviderNotFound, ConcurrentUpdate),
)
async def unverify_provider(provider_id: str, session: AdminSession, clock: ClockDep) -> ProviderProfileOut:
    return await _set_verified(provider_id, False, session, clock)


@router.get(
    "/audit",
    summary="The audit log of admin actions, newest first (by actor or by target)",
    response_model=AuditPage,
    responses=errors(*READ_SESSION, RoleForbidden, ValidationFailed),
)
async def audit_log(
    session: AdminSession,
    actor_id: Ref | None = None,
    target_id: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Annotated[str | None, Query(pattern=SORTABLE_KEY_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AuditPage:
    if actor_id is not None and target_id is not None:
        raise ValidationFailed("Filter by actor_id or by target_id, not both.", field="target_id")
    items, next_cursor = await audit_service.page(actor_id, target_id, cursor, limit)
    return AuditPage(items=[AuditOut.of(e) for e in items], next_cursor=next_cursor)
