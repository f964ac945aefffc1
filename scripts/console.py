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
from platform_api.config import Settings
from platform_api.main import create_app


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
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(create_app(Settings()).openapi()))


SOURCES = ("package-lock.json", "build.mjs", "tsconfig.json", "src")
# Beside the build, not in dist/ (which the platform serves to anyone).
STAMP = CONSOLE_DIR / "build" / ".source-hash"


def source_hash(openapi: Path) -> str:
    """Of everything the bundle is made from: the sources, the lock file and the API's OpenAPI document."""
    digest = hashlib.sha256(openapi.read_bytes())
    for name in SOURCES:
        root = CONSOLE_DIR / name
        for path in sorted([root] if root.is_file() else root.rglob("*")):
            if path.is_file():
                digest.update(str(path.relative_to(CONSOLE_DIR)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def build(force: bool = False) -> str:
    """Build the console unless the built one was made from the same sources and API (or `force`); returns
    what the bundler printed (file names and sizes in bytes), or that it was up to date."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise BuildFailed("Node.js >= 18 with npm is needed to build the admin console")
    openapi = CONSOLE_DIR / "build" / "openapi.json"
    write_openapi(openapi)
    made_from = source_hash(openapi)
    built = (CONSOLE_DIR / "dist" / "index.html").is_file()
    if not force and built and STAMP.is_file() and STAMP.read_text() == made_from:
        return "up to date"
    _install()
    bins = CONSOLE_DIR / "node_modules" / ".bin"
    _run("openapi-typescript", str(bins / "openapi-typescript"), "build/openapi.json", "-o", "build/api.d.ts")
    _run("tsc (type check)", str(bins / "tsc"), "-p", "tsconfig.json")
    sizes = _run("esbuild", "node", "build.mjs")
    STAMP.write_text(made_from)
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
