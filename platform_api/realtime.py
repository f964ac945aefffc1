"""The platform's client for the chat server's internal API (live sockets)."""

import httpx
import structlog

from platform_api.config import Settings

log = structlog.get_logger(__name__)


class RealtimeClient:
    def __init__(self, settings: Settings) -> None:
        self._http = httpx.AsyncClient(
            base_url=settings.chat_internal_url,
            headers={"X-Internal-Token": settings.internal_api_token.get_secret_value()},
            timeout=httpx.Timeout(2.0, connect=0.5),
        )

    async def disconnect_session(self, jti: str) -> None:
        await self._post(f"/internal/sessions/{jti}/disconnect")

    async def disconnect_user(self, user_id: str) -> None:
        await self._post(f"/internal/users/{user_id}/disconnect")

    async def _post(self, path: str) -> None:
        # Best effort: the token is already revoked in the database, so a socket that survives a chat
        # server outage still cannot reconnect; failing the user's request here would help no one.
        try:
            response = await self._http.post(path)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            log.warning("realtime.call_failed", path=path, error=type(exc).__name__)

    async def aclose(self) -> None:
        await self._http.aclose()
