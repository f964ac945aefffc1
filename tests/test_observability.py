"""Observability through the real processes: request ids that follow a call from the platform into the
chat server's logs, the Prometheus series of both services, and readiness of every dependency."""

import json
import re
import uuid

import httpx
import pytest
from fastapi import FastAPI

from chat_server.app import ChatApp
from platform_api.config import Settings
from tests.chat_server.sockets import JsHeld
from tests.conftest import LiveStack
from tests.factories import API, register_sync

pytestmark = pytest.mark.e2e

PLATFORM_SERIES = (
    "http_request_duration_seconds_bucket",
    "outbox_pending_events",
    "stripe_webhook_deliveries_total",
    "scheduler_job_lag_seconds",
    "scheduler_job_runs_total",
)
CHAT_SERIES = ("http_request_duration_seconds_bucket", "chat_socket_connections", "chat_events_total")


def log_lines(path: object) -> list[dict[str, object]]:
    lines = []
    for raw in open(str(path), encoding="utf-8", errors="replace"):  # noqa: SIM115
        if raw.startswith("{"):
            try:
                lines.append(json.loads(raw))
            except json.JSONDecodeError:
                continue
    return lines


def test_a_request_id_follows_the_call_from_the_platform_into_the_chat_servers_logs(
    live_stack: LiveStack,
) -> None:
    trace = f"trace-{uuid.uuid4().hex[:16]}"
    with httpx.Client(base_url=live_stack.platform_url, timeout=10) as client:
        account = register_sync(client)
        held = JsHeld(live_stack.chat_url, account.token)
        out = client.post(f"{API}/auth/logout", headers={**account.bearer, "X-Request-ID": trace})
        assert out.status_code == 204 and out.headers["x-request-id"] == trace
        held.wait_disconnect()  # the chat server has handled the platform's call
        generated = client.get("/healthz")
        assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["x-request-id"])  # none sent: one is made
        hostile = client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces" + "x" * 80})
        assert hostile.headers["x-request-id"] != "bad id"  # replaced, never echoed back raw
    assert live_stack.platform.log_path is not None and live_stack.chat.log_path is not None
    platform = [e for e in log_lines(live_stack.platform.log_path) if e.get("trace_id") == trace]
    chat = [e for e in log_lines(live_stack.chat.log_path) if e.get("trace_id") == trace]
    assert any(e.get("event") == "auth.session_ended" for e in platform), platform
    assert any(e.get("event") == "http.request" and e.get("path") == f"{API}/auth/logout" for e in platform)
    assert any(
        e.get("event") == "http.request" and "/internal/sessions/" in str(e.get("path")) for e in chat
    ), chat


def test_both_services_expose_their_prometheus_series(live_stack: LiveStack) -> None:
    with httpx.Client(base_url=live_stack.platform_url, timeout=10) as client:
        account = register_sync(client)
        assert client.get(f"{API}/auth/me", headers=account.bearer).status_code == 200
        platform = client.get("/metrics")
    assert platform.status_code == 200 and platform.headers["content-type"].startswith("text/plain")
    for series in PLATFORM_SERIES:
        assert series in platform.text, series
    assert re.search(
        r'http_request_duration_seconds_count\{[^}]*route="/api/v1/auth/me"[^}]*status="200"', platform.text
    )
    assert "/api/v1/auth/me/" not in platform.text and account.id not in platform.text  # templates, not ids
    assert "chat_socket_connections" not in platform.text  # each service exposes its own series

    held = JsHeld(live_stack.chat_url, account.token)
    with httpx.Client(base_url=live_stack.chat_url, timeout=10) as client:
        chat = client.get("/metrics")
    held.close()
    assert chat.status_code == 200
    for series in CHAT_SERIES:
        assert series in chat.text, series
    assert "outbox_pending_events" not in chat.text
    connected = re.search(r"^chat_socket_connections ([0-9.]+)$", chat.text, re.MULTILINE)
    assert connected is not None and float(connected.group(1)) >= 1


def test_readiness_reports_every_dependency(live_stack: LiveStack) -> None:
    with httpx.Client(timeout=10) as client:
        platform = client.get(f"{live_stack.platform_url}/readyz").json()
        chat = client.get(f"{live_stack.chat_url}/readyz").json()
    assert platform == {
        "status": "ready",
        "checks": {"database": "ok", "object_storage": "ok", "chat_server": "ok"},
    }
    assert chat == {"status": "ready", "checks": {"database": "ok"}}


async def test_an_unhandled_failure_answers_the_typed_error_with_its_request_id(
    api: httpx.AsyncClient, platform_app: FastAPI
) -> None:
    """Whatever no handler catches answers JSON in the documented shape, never Starlette's plain text."""

    async def broken() -> None:
        raise RuntimeError("a bug")

    platform_app.add_api_route("/test-only/broken", broken)
    answer = await api.get("/test-only/broken", headers={"X-Request-ID": "trace-me-1"})
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["x-request-id"] == "trace-me-1"
    error = answer.json()["error"]
    assert error["code"] == "internal_error" and error["details"] == {"request_id": "trace-me-1"}


async def test_framework_refusals_answer_the_typed_error_not_plain_text(
    api: httpx.AsyncClient, settings: Settings, chat_app: ChatApp
) -> None:
    """What the frameworks refuse before any route runs: a CORS preflight from an origin, with a method or
    a header that is not allowed (platform), an unknown path and a wrong method (chat server)."""
    allowed = settings.cors_origins[0]
    preflights = {
        "origin": {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        "header": {
            "Origin": allowed,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-not-allowed",
        },
    }
    answers = [await api.options(f"{API}/requests", headers=h) for h in preflights.values()]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=chat_app), base_url="http://chat") as chat:
        answers += [await chat.get("/no-such-path"), await chat.post("/healthz")]
    assert [a.status_code for a in answers] == [400, 400, 404, 405]
    for answer in answers:
        assert answer.headers["content-type"] == "application/json", answer.text
        assert set(answer.json()["error"]) == {"code", "message"}
    assert [a.json()["error"]["code"] for a in answers] == [
        "cors_rejected", "cors_rejected", "not_found", "method_not_allowed",
    ]  # fmt: skip
