"""Build the admin console (served by the platform at `/admin/`) from its sources.

    .venv/bin/python -m scripts.console build     (run by scripts/run.sh and scripts/test.sh)

Steps: install the console's npm packages from its lock file (once per lock file), write the platform's
OpenAPI document, generate the TypeScript types of the API from it (openapi-typescript), type-check the
console against them (tsc: a console that misuses the API does not build) and bundle it (esbuild) into
`platform_api/admin/console/dist/`. Needs Node.js >= 18 with npm. Exit status 0 when built, 1 otherwise.
"""

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

from platform_api.admin.console import CONSOLE_DIR

ROOT = CONSOLE_DIR.parents[2]
# The Python packages the API's OpenAPI document is made from: while none of their files changed, neither did
# the document, and the check needs no app (building one to write the document takes seconds).
API_PACKAGES = ("platform_api", "shared_models")


class BuildFailed(Exception):
    """A step of the build failed; the message says which and what it printed."""


def _run(step: str, *argv: str) -> str:
    done = subprocess.run(argv, cwd=CONSOLE_DIR, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise BuildFailed(f"{step} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def _install() -> None:
    """`npm ci` when the lock file changed since the last install (a stamp named by its hash)."""
    lock = CONSOLE_DIR / "package-lock.json"
    stamp = CONSOLE_DIR / "node_modules" / f".installed-{hashlib.sha256(lock.read_bytes()).hexdigest()[:16]}"
    if stamp.exists():
        return
    _run("npm ci", "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
    stamp.touch()


def write_openapi(target: Path) -> None:
    """The platform's OpenAPI document, as `/openapi.json` serves it (no database needed)."""
    from platform_api.config import Settings  # imported here: building the app is the slow part
    from platform_api.main import create_app

    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(create_app(Settings()).openapi()))


SOURCES = ("package-lock.json", "build.mjs", "tsconfig.json", "src")
# Beside the build, not in dist/ (which the platform serves to anyone).
STAMP = CONSOLE_DIR / "build" / ".source-hash"


def _digest(paths: list[Path], base: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path.relative_to(base)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def api_sources_hash() -> str:
    """Of the Python files the API (and so its OpenAPI document) is made from."""
    return _digest([p for package in API_PACKAGES for p in (ROOT / package).rglob("*.py")], ROOT)


def source_hash(openapi: Path) -> str:
    """Of everything the bundle is made from: the sources, the lock file and the API's OpenAPI document."""
    files = [CONSOLE_DIR / name for name in SOURCES if (CONSOLE_DIR / name).is_file()]
    files += [p for name in SOURCES if (CONSOLE_DIR / name).is_dir() for p in (CONSOLE_DIR / name).rglob("*")]
    return (
        _digest([p for p in files if p.is_file()], CONSOLE_DIR)
        + hashlib.sha256(openapi.read_bytes()).hexdigest()
    )


def _stamp() -> dict[str, str]:
    try:
        stamp: dict[str, str] = json.loads(STAMP.read_text())
    except (OSError, ValueError):
        return {}
    return stamp


OPENAPI = CONSOLE_DIR / "build" / "openapi.json"


def _current_openapi(api_sources: str, force: bool = False) -> Path:
    """The API's OpenAPI document, written again only when the API's Python files changed since the last
    build, or it is missing (writing it builds the app: seconds)."""
    if force or _stamp().get("api_sources") != api_sources or not OPENAPI.is_file():
        write_openapi(OPENAPI)
    return OPENAPI


def _built_from(openapi: Path) -> bool:
    return (CONSOLE_DIR / "dist" / "index.html").is_file() and _stamp().get("made_from") == source_hash(
        openapi
    )


def up_to_date() -> bool:
    """The built console was made from today's sources and API. Fast when no Python file of the API changed
    (no app is built); otherwise the OpenAPI document is written again and compared."""
    return _built_from(_current_openapi(api_sources_hash()))


def build(force: bool = False) -> str:
    """Build the console unless the built one was made from the same sources and API (or `force`); returns
    what the bundler printed (file names and sizes in bytes), or that it was up to date."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise BuildFailed("Node.js >= 18 with npm is needed to build the admin console")
    api_sources = api_sources_hash()
    openapi = _current_openapi(api_sources, force)
    if not force and _built_from(openapi):
        # The API's files changed but not its document: remember them, so the next check builds no app.
        STAMP.write_text(json.dumps({**_stamp(), "api_sources": api_sources}))
        return "up to date"
    _install()
    bins = CONSOLE_DIR / "node_modules" / ".bin"
    _run("openapi-typescript", str(bins / "openapi-typescript"), "build/openapi.json", "-o", "build/api.d.ts")
    _run("tsc (type check)", str(bins / "tsc"), "-p", "tsconfig.json")
    sizes = _run("esbuild", "node", "build.mjs")
    STAMP.write_text(json.dumps({"made_from": source_hash(openapi), "api_sources": api_sources}))
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the admin console served at /admin/.")
    parser.add_argument("command", choices=["build"])
    parser.add_argument("--force", action="store_true", help="build even when up to date")
    args = parser.parse_args(argv)
    try:
        sizes = build(args.force)
    except BuildFailed as exc:
        print(f"admin console: {exc}", file=sys.stderr)
        return 1
    print(f"admin console built in {CONSOLE_DIR / 'dist'}:\n{sizes.rstrip()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
