"""How each real process of the system is started, one definition for the dev launcher and the tests."""

import sys
from pathlib import Path

from scripts import object_store
from scripts.processes import ManagedProcess, http_ok, port_open

BIN = Path(sys.executable).parent


def engine(port: int, data_dir: Path, log_dir: Path) -> ManagedProcess:
    """nx-27017: the embedded MongoDB-wire engine, one SQLite file per logical database under `data_dir`."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return ManagedProcess(
        name="nx-27017",
        argv=[
            str(BIN / "nx-27017"),
            "--data-dir",
            str(data_dir),
            "-p",
            str(port),
            "--log-file",
            str(log_dir / f"nx-27017-{port}.log"),
            "--pid-file",
            str(log_dir / f"nx-27017-{port}.pid"),
        ],
        ready=lambda: port_open(port),
        log_path=log_dir / f"nx-27017-{port}.out",
    )


def mongodb_uri(port: int) -> str:
    return f"mongodb://127.0.0.1:{port}/?directConnection=true"


def s3(port: int, log_dir: Path, store: Path | None = None) -> ManagedProcess:
    """The moto server standing in for DigitalOcean Spaces / S3: in memory, or with `store` recording what is
    written there, for `object_store.replay` to restore on the next start."""
    return ManagedProcess(
        name="moto-s3",
        argv=[str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        env=object_store.server_env(store) if store else None,
        ready=lambda: http_ok(f"http://127.0.0.1:{port}/moto-api/"),
        log_path=log_dir / "moto.log",
    )


def smtp_sink(port: int, maildir: Path, log_dir: Path) -> ManagedProcess:
    return ManagedProcess(
        name="smtp-sink",
        argv=[sys.executable, "-m", "scripts.smtp_sink", "--port", str(port), "--maildir", str(maildir)],
        ready=lambda: port_open(port),
        log_path=log_dir / "smtp.log",
    )


def stripe_fake(
    port: int,
    log_dir: Path,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    state_file: Path | None = None,
) -> ManagedProcess:
    """The local Stripe stand-in (the SDK's API base points at it); delivers signed webhooks to `webhook_url`."""
    argv = [sys.executable, "-m", "scripts.stripe_fake", "--port", str(port)]
    if webhook_url:
        argv += ["--webhook-url", webhook_url]
    if state_file:
        argv += ["--state-file", str(state_file)]
    return ManagedProcess(
        name="stripe-fake",
        argv=argv,
        env={"STRIPE_WEBHOOK_SECRET": webhook_secret} if webhook_secret else None,
        ready=lambda: http_ok(f"http://127.0.0.1:{port}/healthz"),
        log_path=log_dir / f"stripe-fake-{port}.log",
    )


def platform(port: int, env: dict[str, str], log_dir: Path) -> ManagedProcess:
    return _uvicorn_service("platform", "platform_api.main:app_from_env", port, env, log_dir)


# Like socket.io's own server default: no per-message compression of websocket frames. Chat frames are a few
# hundred bytes, so deflating each one costs CPU (a zlib context per socket, too) and saves next to nothing.
CHAT_UVICORN_OPTIONS = ("--ws-per-message-deflate", "false")


def chat(port: int, env: dict[str, str], log_dir: Path) -> ManagedProcess:
    return _uvicorn_service("chat", "chat_server.app:app_from_env", port, env, log_dir, CHAT_UVICORN_OPTIONS)


def _uvicorn_service(
    name: str, factory: str, port: int, env: dict[str, str], log_dir: Path, options: tuple[str, ...] = ()
) -> ManagedProcess:
    argv = [sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1", "--port", str(port)]
    return ManagedProcess(
        name=name,
        argv=[*argv, "--no-access-log", "--lifespan", "on", *options],
        env=env,
        ready=lambda: http_ok(f"http://127.0.0.1:{port}/healthz"),
        log_path=log_dir / f"{name}-{port}.log",
    )
