"""GDPR routes: export everything I own; delete my account (password required again)."""

from typing import Any

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field

from platform_api.account.service import account_service
from platform_api.auth.errors import InvalidCredentials
from platform_api.auth.service import auth_service
from platform_api.deps import READ_SESSION, WRITE_SESSION, ClockDep, CurrentSession, RealtimeDep
from platform_api.errors import errors

router = APIRouter(prefix="/account", tags=["account"])


class DeleteAccountIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"password": "correct horse battery"}]}
    )

    password: str = Field(min_length=1, max_length=128, description="Your current password, again.")


@router.get(
    "/export",
    summary="Everything the platform holds about me, as one JSON archive",
    responses=errors(*READ_SESSION),
)
async def export_account(session: CurrentSession, clock: ClockDep) -> dict[str, Any]:
    return await account_service.export(session.user, clock.now())


@router.delete(
    "",
    summary="Delete my account: personal data erased or anonymised, every session ended",
    description="Needs the password again. Bookings, conversations and disputes stay for the other party, "
    "anonymised.",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(*WRITE_SESSION, InvalidCredentials),
)
async def delete_account(
    body: DeleteAccountIn, session: CurrentSession, clock: ClockDep, realtime: RealtimeDep
) -> Response:
    await auth_service.check_credentials(session.user.email, body.password)  # re-authentication
    await account_service.delete(session.user, realtime, clock.now())
    return Response(status_code=status.HTTP_204_NO_CONTENT)
