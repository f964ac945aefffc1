"""Request ids, access logs and Prometheus metrics for both services, as plain ASGI (no web framework).

Every HTTP request gets an id: the caller's `X-Request-ID` if it is a sane token, else a new one. It is
bound to the structlog context (so every log line of the request carries it), echoed in the response, and
sent on by the platform's calls to the chat server, so one id follows a request across both services.
"""

import json
import os
import re
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, Histogram, generate_latest

from shared_models.errors import InternalError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

REQUEST_ID_HEADER = "X-Request-ID"
# The log field carrying it: not `request_id`, which the booking domain's log lines use for the id of a
# service request.
LOG_KEY = "trace_id"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
log = structlog.get_logger("http")

HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency by route template and status.",
    ["service", "method", "route", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def new_request_id() -> str:
    """32 random hex digits (as uuid4().hex carries, without building a UUID per request)."""
    return os.urandom(16).hex()


def current_request_id() -> str | None:
    value = structlog.contextvars.get_contextvars().get(LOG_KEY)
    return str(value) if value else None


@contextmanager
def bound_request_id(request_id: str | None = None) -> Iterator[str]:
    """Bind a request id for work outside an HTTP request (a scheduled job), so its calls carry one too."""
    rid = request_id or new_request_id()
    with structlog.contextvars.bound_contextvars(**{LOG_KEY: rid}):
        yield rid


def route_template(scope: Scope) -> str:
    """The matched route's template (`/api/v1/requests/{request_id}`), never the raw path: ids in labels
    would grow the series without bound."""
    effective = (scope.get("fastapi") or {}).get("effective_route_context")  # FastAPI's included routers
    path = getattr(effective, "path", None) or getattr(scope.get("route"), "path", None)
    return str(path) if path else "(unmatched)"


def internal_error_body(request_id: str) -> dict[str, Any]:
    """The documented error shape (`{error: {code, message, details}}`) for an unhandled failure."""
    return {
        "error": {
            "code": InternalError.code,
            "message": InternalError.message,
            "details": {"request_id": request_id},
        }
    }


def metrics_body() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST


class RequestTelemetry:
    """ASGI middleware: request id in and out, one access log line, the latency histogram."""

    def __init__(self, app: ASGIApp, service: str, quiet: tuple[str, ...] = ("/healthz", "/metrics")) -> None:
        self.app = app
        self.service = service
        self.quiet = quiet  # probes and scrapes: measured, not logged
        self._series: dict[tuple[str, str, int], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent_id = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), "")
        request_id = sent_id if _SANE_ID.match(sent_id) else new_request_id()
        status = 500
        started = time.perf_counter()
        responded = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                status, responded = int(message["status"]), True
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        with structlog.contextvars.bound_contextvars(**{LOG_KEY: request_id}):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception:
                # Whatever no handler turned into an answer: logged with its traceback under this request's
                # id, and answered in the documented error shape with that id (never a plain-text 500).
                log.exception("http.unhandled", method=scope["method"], path=scope["path"])
                if responded:
                    raise
                body = json.dumps(internal_error_body(request_id)).encode()
                await send_with_id(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send_with_id({"type": "http.response.body", "body": body})
            finally:
                elapsed = time.perf_counter() - started
                template = route_template(scope)
                key = (scope["method"], template, status)
                series = self._series.get(key)
                if series is None:  # one labelled child per route and status, looked up once
                    series = self._series[key] = HTTP_LATENCY.labels(
                        self.service, key[0], template, str(status)
                    )
                series.observe(elapsed)
                if not scope["path"].startswith(self.quiet):
                    log.info(
                        "http.request", method=scope["method"], path=scope["path"], route=template,
                        status=status, duration_ms=round(elapsed * 1000, 2),
                    )  # fmt: skip
