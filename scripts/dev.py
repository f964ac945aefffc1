"""The dev launcher: every process of the system, real, on this machine, with one command.

    bash scripts/run.sh [--demo]         (installs first; or .venv/bin/python -m scripts.dev [--demo])

Starts nx-27017 (data under .data/, kept between runs) unless MONGODB_URI points at a MongoDB, the moto S3
server with the media bucket (what is stored kept under .data/s3/ too), the SMTP sink, the local Stripe
stand-in (unless STRIPE_API_BASE points elsewhere), the platform API and the chat server. Ctrl-C stops them
all.
"""

import argparse
import asyncio
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

from platform_api.config import Settings
from platform_api.media.storage import ObjectStorage
from scripts import console, dev_guide, object_store, stack
from scripts.migrate import migrate
from scripts.processes import ManagedProcess
from scripts.seed import seed_and_print

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".data"


def _port_of(url: str, default: int) -> int:
    return urlparse(url).port or default


def _start_object_store(start: Callable[[ManagedProcess], None], port: int, store: Path, logs: Path) -> None:
    """moto with its recorder on, given back what earlier runs stored (see scripts/object_store.py)."""
    compacted = object_store.compact(store)
    if compacted.unreadable:
        print(f"S3: {compacted.unreadable} unreadable entries of {store} dropped (cut short by a crash)")
    start(stack.s3(port, logs, store))
    if compacted.writes:
        object_store.replay(f"http://127.0.0.1:{port}")
        print(f"S3: {compacted.writes} writes of earlier runs restored from {store}")


def _create_bucket(settings: Settings) -> None:
    ObjectStorage(settings).ensure_bucket()


def _build_console() -> None:
    """The admin console the platform serves at /admin/ (rebuilt only when its sources or the API changed).
    Without Node.js the rest of the system still runs; /admin/ then answers 503 `console_not_built`."""
    print("building the admin console …", flush=True)
    try:
        console.build()
    except console.BuildFailed as exc:
        print(f"warning: the admin console is not built: {exc}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the whole system locally.")
    parser.add_argument("--demo", action="store_true", help="seed demo accounts and data")
    parser.add_argument(
        "--data-dir", type=Path, default=DATA, help="where data and logs are kept (default .data/)"
    )
    parser.add_argument(
        "--engine-port", type=int, help="port of the embedded engine (default: MONGODB_URI's)"
    )
    args = parser.parse_args(argv)
    data: Path = args.data_dir

    settings = Settings()
    logs = data / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    started: list[ManagedProcess] = []
    env: dict[str, str] = {}

    def start(proc: ManagedProcess) -> None:
        print(f"starting {proc.name} …", flush=True)
        started.append(proc.start())

    _build_console()
    try:
        if "mongodb_uri" in settings.model_fields_set:
            print(f"using the MongoDB at {settings.mongodb_uri}")
        else:
            engine_port = args.engine_port or _port_of(settings.mongodb_uri, 27017)
            start(stack.engine(engine_port, data / "mongo", logs))
            env["MONGODB_URI"] = stack.mongodb_uri(engine_port)
        if settings.s3_endpoint_url and urlparse(settings.s3_endpoint_url).hostname in (
            "127.0.0.1",
            "localhost",
        ):
            _start_object_store(start, _port_of(settings.s3_endpoint_url, 9000), data / "s3", logs)
        if settings.smtp_host in ("127.0.0.1", "localhost"):
            start(stack.smtp_sink(settings.smtp_port, data / "mail", logs))
        if settings.stripe_api_base and urlparse(settings.stripe_api_base).hostname in (
            "127.0.0.1",
            "localhost",
        ):
            webhook_url = f"http://127.0.0.1:{settings.port}{settings.api_prefix}/billing/webhook"
            start(
                stack.stripe_fake(
                    _port_of(settings.stripe_api_base, 12111),
                    logs,
                    webhook_url,
                    settings.stripe_webhook_secret.get_secret_value(),
                    data / "stripe.json",
                )
            )
        os.environ.update(env)
        settings = Settings()
        if settings.s3_endpoint_url:
            _create_bucket(settings)
        migrated = asyncio.run(
            migrate(settings.mongodb_uri, settings.mongodb_db, settings.mongodb_timeout_ms)
        )
        if any(migrated.values()):
            print("migrated: " + ", ".join(f"{what}: {n}" for what, n in migrated.items()))
        if args.demo:
            asyncio.run(seed_and_print(settings))
        start(stack.platform(settings.port, env, logs))
        start(stack.chat(_port_of(settings.chat_url, 8001), env, logs))
    except BaseException as exc:
        for proc in reversed(started):
            proc.stop()
        if isinstance(exc, KeyboardInterrupt):
            return 130
        print(f"start-up failed: {exc}", file=sys.stderr)
        return 1

    print(dev_guide.running(settings, data, logs), flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.is_set():
        for proc in started:
            if not proc.running:
                print(f"{proc.name} stopped unexpectedly; see {proc.log_path}", file=sys.stderr)
                stop.set()
        stop.wait(1.0)
    print("\nstopping …", flush=True)
    for proc in reversed(started):
        proc.stop()
    print("stopped.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
