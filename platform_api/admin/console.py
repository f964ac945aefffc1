"""Serving the admin console: the static files `python -m scripts.console build` writes, at `/admin/`.

The console is a single page on the same origin as the API, so the session cookie and the CSRF header work
as for the SPA; every admin action is still authorised by the API (the files themselves are public: the
sign-in page is among them). Its pages are addressed by the URL's fragment (`/admin/#/disputes/<id>`), so
the server only ever serves files. Each answer carries a Content-Security-Policy that allows scripts and
styles from this origin only, and images and frames (evidence previews) from this origin and the object
storage that signs the evidence links. A missing file answers the typed 404; a console that was never
built answers the typed 503 `console_not_built`.
"""

from pathlib import Path
from urllib.parse import urlsplit

import anyio
from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from platform_api.admin.errors import ConsoleNotBuilt
from platform_api.config import Settings

CONSOLE_DIR = Path(__file__).parent / "web"
CONSOLE_PATH = "/admin"


def storage_origins(settings: Settings) -> list[str]:
    """The origins evidence links point at: the endpoint that signs downloads (path-style addressing), or
    AWS's regional and global S3 endpoints when none is configured."""
    endpoint = settings.s3_public_endpoint_url or settings.s3_endpoint_url
    if endpoint is None:
        return [f"https://s3.{settings.s3_region}.amazonaws.com", "https://s3.amazonaws.com"]
    parts = urlsplit(endpoint)
    return [f"{parts.scheme}://{parts.netloc}"]


def content_security_policy(settings: Settings) -> str:
    storage = " ".join(storage_origins(settings))
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src 'self' data: {storage}",
            f"frame-src {storage}",
            f"object-src {storage}",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


class ConsoleFiles(StaticFiles):
    """StaticFiles with the console's security headers; `index.html` is never cached (it names the hashed
    bundles, which may be cached for a year)."""

    def __init__(self, directory: Path, policy: str) -> None:
        super().__init__(directory=directory, html=True, check_dir=False)
        self._policy = policy

    async def check_config(self) -> None:
        # Starlette refuses a missing directory with a RuntimeError (a 500): not built yet is a 503 instead.
        if await anyio.to_thread.run_sync(Path(str(self.directory)).is_dir):
            await super().check_config()

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            response = await super().get_response(path, scope)
        except HTTPException as exc:
            index = Path(str(self.directory), "index.html")
            if exc.status_code == 404 and not await anyio.to_thread.run_sync(index.is_file):
                raise ConsoleNotBuilt() from exc
            raise
        response.headers["Content-Security-Policy"] = self._policy
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        is_bundle = path.startswith("app-") and response.status_code == 200
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable" if is_bundle else "no-cache"
        return response


def mount_console(app: FastAPI, settings: Settings, directory: Path = CONSOLE_DIR / "dist") -> None:
    """Serve the built console at `/admin/` (`/admin` redirects there)."""
    app.mount(CONSOLE_PATH, ConsoleFiles(directory, content_security_policy(settings)), name="admin-console")
