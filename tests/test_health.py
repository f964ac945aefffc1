"""Liveness and readiness of both services, including a real engine killed and restarted under them."""

import asyncio
from pathlib import Path

import httpx

from chat_server.app import create_app as create_chat_app
from chat_server.config import ChatSettings
from platform_api.config import Settings
from platform_api.main import create_app as create_platform_app
from scripts import stack
from scripts.processes import free_port
from shared_models.runtime.settings import Environment
from tests.factories import API


async def wait_for_status(
    client: httpx.AsyncClient, url: str, status: int, within: float = 30
) -> httpx.Response:
    """Poll until the service reports `status` (a condition, not a fixed sleep)."""
    async with asyncio.timeout(within):
        while True:
            response = await client.get(url)
            if response.status_code == status:
                return response
            await asyncio.sleep(0.1)


async def test_health_endpoints_answer_in_process(api: httpx.AsyncClient, chat_app: object) -> None:
    assert (await api.get("/healthz")).json() == {"status": "ok"}
    ready = await api.get("/readyz")
    assert ready.status_code == 200, ready.text
    checks = ready.json()["checks"]
    assert checks["database"] == checks["object_storage"] == "ok"
    # No chat server runs beside the in-process app: reported as degraded, not a reason to be unready.
    assert checks["chat_server"].startswith("degraded")
    transport = httpx.ASGITransport(app=chat_app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://chat") as chat:
        assert (await chat.get("/healthz")).json() == {"status": "ok"}
        assert (await chat.get("/readyz")).status_code == 200


async def test_readyz_is_503_while_the_engine_is_down_and_recovers_without_restart(
    tmp_path: Path, s3: str
) -> None:
    port = free_port()
    engine = stack.engine(port, tmp_path / "mongo", tmp_path).start()
    common = {
        "_env_file": None,
        "environment": Environment.test,
        "mongodb_uri": stack.mongodb_uri(port),
        "mongodb_db": "readiness",
        "mongodb_timeout_ms": 500,
        "readiness_timeout_seconds": 1.0,
    }
    platform = create_platform_app(Settings(**common, s3_endpoint_url=s3))  # type: ignore[arg-type]
    chat = create_chat_app(ChatSettings(**common))  # type: ignore[arg-type]
    try:
        async with (
            platform.router.lifespan_context(platform),
            chat.http.router.lifespan_context(chat.http),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=platform), base_url="http://p") as p,
            httpx.AsyncClient(transport=httpx.ASGITransport(app=chat), base_url="http://c") as c,
        ):
            assert (await p.get("/readyz")).status_code == 200
            assert (await c.get("/readyz")).status_code == 200

            engine.kill()
            down = await p.get("/readyz")
            assert down.status_code == 503
            assert down.json()["status"] == "unavailable"
            assert down.json()["checks"]["database"].startswith("unavailable")
            assert (await c.get("/readyz")).status_code == 503
            assert (await p.get("/healthz")).status_code == 200  # alive, just not ready
            # a request that needs the database gets a typed 503, never a 500
            login = await p.post(
                f"{API}/auth/login", json={"email": "a@example.com", "password": "whatever12"}
            )
            assert login.status_code == 503
            assert login.json()["error"]["code"] == "database_unavailable"

            engine.start()
            await wait_for_status(p, "/readyz", 200)
            await wait_for_status(c, "/readyz", 200)
    finally:
        engine.stop()


async def test_unknown_routes_and_methods_get_typed_errors(api: httpx.AsyncClient) -> None:
    missing = await api.get(f"{API}/nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong_method = await api.delete(f"{API}/auth/login")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"
    assert wrong_method.headers["allow"] == "POST"
    # a path served by two routes (GET and POST) lists both
    assert (await api.delete(f"{API}/requests")).headers["allow"] == "GET, POST"
    assert (await api.post(f"{API}/conversations/6650f0c2a1b2c3d4e5f60718/block")).headers[
        "allow"
    ] == "DELETE, PUT"


async def test_a_body_that_is_not_text_or_nests_too_deeply_is_a_typed_422_naming_the_body(
    api: httpx.AsyncClient,
) -> None:
    # Both fail inside FastAPI's body reading (not as a JSON decode error), which named no field.
    for raw in (b"\xff\xfe\xfa", b'{"email": ' + b"[" * 3000 + b"]" * 3000 + b"}"):
        response = await api.post(
            f"{API}/auth/login", content=raw, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 422, raw[:20]
        error = response.json()["error"]
        assert error["code"] == "validation_error" and error["field"] == "body", (raw[:20], error)


async def test_a_malformed_or_misshapen_body_is_named_as_the_body(api: httpx.AsyncClient) -> None:
    """Not `"field": "0"` (a character position) for broken JSON, nor no field for an array body."""
    for raw in (b"not json{", b'{"email": ', b"[1, 2]", b'"text"', b"null"):
        response = await api.post(
            f"{API}/auth/login", content=raw, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 422, raw
        error = response.json()["error"]
        assert error["code"] == "validation_error" and error["field"] == "body", (raw, error)
