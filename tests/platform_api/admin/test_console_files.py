"""The admin console's files as the platform serves them at /admin/: the security headers, caching, typed
errors, a console that was never built, and a build that matches today's API and sources."""

import json
from pathlib import Path

import httpx
from fastapi import FastAPI

from platform_api.admin.console import CONSOLE_DIR, mount_console, storage_origins
from platform_api.config import Settings
from platform_api.errors import install_error_handlers
from scripts import console


def bundle_names() -> list[str]:
    return sorted(p.name for p in (CONSOLE_DIR / "dist").glob("app-*"))


async def test_the_console_is_served_with_its_security_headers(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    page = await api.get("/admin/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-cache"
    assert page.headers["x-content-type-options"] == "nosniff"
    policy = dict(part.split(" ", 1) for part in page.headers["content-security-policy"].split("; "))
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self'" and policy["frame-ancestors"] == "'none'"
    assert settings.s3_endpoint_url is not None
    storage = settings.s3_endpoint_url.rstrip("/")
    assert storage in policy["img-src"].split() and storage in policy["frame-src"].split()
    for name in bundle_names():  # named by their content's hash: cached for good; named from the root, so
        assert f'"/admin/{name}"' in page.text  # the page works whatever URL served it (/admin/index.html/)
        asset = await api.get(f"/admin/{name}")
        assert asset.status_code == 200 and "immutable" in asset.headers["cache-control"]
    assert (await api.get("/admin", follow_redirects=False)).status_code in (307, 308)


async def test_missing_files_and_other_methods_answer_the_typed_error(api: httpx.AsyncClient) -> None:
    for response, status, code in (
        (await api.get("/admin/app-NOPE.js"), 404, "not_found"),
        (await api.get("/admin/../pyproject.toml"), 404, "not_found"),
        (await api.get("/admin/.source-hash"), 404, "not_found"),  # the build's stamp is not served
        (await api.post("/admin/"), 405, "method_not_allowed"),
    ):
        assert response.status_code == status, response.text
        assert response.json()["error"]["code"] == code


async def test_a_console_never_built_answers_503_saying_how_to_build_it(
    settings: Settings, tmp_path: Path
) -> None:
    app = FastAPI()
    install_error_handlers(app)
    mount_console(app, settings, directory=tmp_path / "dist")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console") as client:
        response = await client.get("/admin/")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "console_not_built" and "scripts.console build" in error["message"]


def test_the_storage_that_signs_evidence_links_is_the_one_the_policy_allows() -> None:
    base = Settings(_env_file=None)
    assert storage_origins(base.model_copy(update={"s3_endpoint_url": "http://127.0.0.1:9000/"})) == [
        "http://127.0.0.1:9000"
    ]
    public = base.model_copy(
        update={"s3_endpoint_url": "http://minio:9000", "s3_public_endpoint_url": "https://media.example.com"}
    )
    assert storage_origins(public) == ["https://media.example.com"]
    aws = base.model_copy(update={"s3_endpoint_url": None, "s3_region": "eu-west-2"})
    assert storage_origins(aws) == ["https://s3.eu-west-2.amazonaws.com", "https://s3.amazonaws.com"]


def test_the_built_console_was_made_from_todays_api_and_sources(tmp_path: Path) -> None:
    """The browser tests drive what `scripts.console build` wrote: it must be what the sources and the API's
    OpenAPI document make now (the test command builds it first; a stale build fails here, saying so)."""
    openapi = tmp_path / "openapi.json"
    console.write_openapi(openapi)
    assert console.STAMP.is_file(), "run `.venv/bin/python -m scripts.console build`"
    stamp = json.loads(console.STAMP.read_text())
    assert console.source_hash(openapi) == stamp["made_from"], "stale: run scripts.console build"
    # And the launcher's quick check (no app built while the API's Python files are as they were) agrees.
    assert stamp["api_sources"] == console.api_sources_hash() and console.up_to_date()
