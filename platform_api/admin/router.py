"""Admin console routes (OpenAPI tag `admin`); every one needs the admin role."""

from fastapi import APIRouter

from platform_api.auth.schemas import UserOut
from platform_api.auth.service import auth_service
from platform_api.deps import AdminSession
from platform_api.errors import Forbidden, NotFound, Unauthorized, error_responses

router = APIRouter(prefix="/admin", tags=["admin"])


@router.get(
    "/users/{user_id}",
    summary="Look up any user account",
    response_model=UserOut,
    responses=error_responses(Unauthorized, Forbidden, NotFound),
)
async def get_user(user_id: str, session: AdminSession) -> UserOut:
    user = await auth_service.get_user(user_id)
    if user is None:
        raise NotFound("No such user.", code="user_not_found")
    return UserOut.of(user)
