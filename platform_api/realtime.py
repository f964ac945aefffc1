"""The platform's client for the chat server: its internal API (live sockets, presence, notifications) and,
with Redis, the block generations every chat-server instance checks before writing messages."""

from typing import Any

import httpx
import structlog
from redis.exceptions import RedisError

from platform_api.config import Settings
from shared_models.runtime import block_generations
from shared_models.runtime.block_generations import chat_prefix
from shared_models.runtime.redis_client import redis_client
from shared_models.runtime.telemetry import REQUEST_ID_HEADER, current_request_id
from shared_models.services.notifications import Presence

log = structlog.get_logger(__name__)


def _trace() -> dict[str, str]:
    """The current request's id, so the chat server's log lines of this call carry it too."""
    request_id = current_request_id()
    return {REQUEST_ID_HEADER: request_id} if request_id else {}


class ChatUnavailable(Exception):
    """The chat server did not answer: what needs it (notification delivery) waits and retries."""


class RealtimeClient:
    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        # With Redis, block generations are bumped there directly: every chat-server instance checks them
        # before writing, whether or not the internal call below reaches one.
        self._redis = redis_client(settings.redis_url, retry=True) if settings.redis_url else None
        self._chat_prefix = chat_prefix(settings.redis_channel)
        self._http = httpx.AsyncClient(
            base_url=settings.chat_internal_url,
            headers={"X-Internal-Token": settings.internal_api_token.get_secret_value()},
            timeout=httpx.Timeout(2.0, connect=0.5),
            # Connection failures are retried at once, twice; the relay backs off beyond that.
            transport=transport or httpx.AsyncHTTPTransport(retries=2),
        )

    async def disconnect_session(self, jti: str, user_id: str) -> None:
        await self._post(f"/internal/sessions/{jti}/disconnect?user_id={user_id}")

    async def disconnect_user(self, user_id: str) -> None:
        await self._post(f"/internal/users/{user_id}/disconnect")

    async def conversation_changed(self, conversation_id: str) -> bool:
        """The conversation's block state changed (and is stored): every chat-server instance re-reads it
        before its next message. With Redis this holds once the generation is bumped there; the call then
        lets the instance that takes it tell the participants (typing, presence). False if the chat server
        was not reached (the caller leaves it to the relay: `tell_conversation_changed`)."""
        if self._redis is not None:
            try:
                await block_generations.bump(self._redis, self._chat_prefix, conversation_id)
            except RedisError as exc:  # while Redis is down, no chat instance writes messages at all (a
                # batch needs the generations); a connection Redis dropped on restart was retried already
                log.warning("realtime.block_generation_failed", error=type(exc).__name__)
        return await self._post(f"/internal/conversations/{conversation_id}/changed")

    async def tell_conversation_changed(self, conversation_id: str) -> None:
        """The relay's retry of `conversation_changed`: raises ChatUnavailable until the chat server answers."""
        await self._call(f"/internal/conversations/{conversation_id}/changed", {})

    async def presence(self, queries: list[tuple[str, str | None]]) -> list[Presence]:
        """(user id, conversation id or None) → whether each user is online, and engaged in that conversation."""
        body = {"queries": [{"userId": u, "conversationId": c} for u, c in queries]}
        results = (await self._call("/internal/presence", body))["results"]
        return [Presence(online=bool(r["online"]), engaged=bool(r["engaged"])) for r in results]

    async def push_notifications(self, deliveries: list[dict[str, Any]]) -> dict[str, Any]:
        """Each {deliveryId, userId, notification}: pushed once by the chat server, however often posted."""
        return await self._call("/internal/notifications", {"deliveries": deliveries})

    async def _call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await self._http.post(path, json=body, headers=_trace())
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise ChatUnavailable(f"{path}: {type(exc).__name__}") from exc
        answer: dict[str, Any] = response.json()
        return answer

    async def _post(self, path: str) -> bool:
        """Best effort (True if the chat server answered): the state is already stored (a revoked token, a
        block), so a chat server outage must not fail the user's request."""
        try:
            response = await self._http.post(path, headers=_trace())
            response.raise_for_status()
        except httpx.HTTPError as exc:
            log.warning("realtime.call_failed", path=path, error=type(exc).__name__)
            return False
        return True

    async def check(self) -> None:
        """Readiness: the chat server's liveness probe answers."""
        response = await self._http.get("/healthz")
        response.raise_for_status()

    async def aclose(self) -> None:
        await self._http.aclose()
        if self._redis is not None:
            await self._redis.aclose()
