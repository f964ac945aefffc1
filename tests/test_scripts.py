"""Ops and dev tools, run as real processes (the engine, the S3 stand-in), and the dev settings they rely on."""

import asyncio
import json
import subprocess
from pathlib import Path

import boto3
import httpx
from limits import parse
from pymongo import AsyncMongoClient

from platform_api.config import Settings
from platform_api.main import create_app
from scripts import object_store, stack
from scripts.processes import free_port
from scripts.seed import DEMO_ACCOUNTS
from shared_models.settings import Environment
from tests.conftest import Engine, run_create_admin
from tests.factories import API

ROOT = Path(__file__).resolve().parent.parent


def create_admin(engine: Engine, db_name: str, password: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_create_admin(engine.uri, db_name, password, *args)


async def test_create_admin_makes_an_admin_who_can_log_in(
    engine: Engine, db_name: str, settings: Settings
) -> None:
    done = await asyncio.to_thread(create_admin, engine, db_name, "a long admin password", "Ops@Example.com")
    assert done.returncode == 0, done.stderr
    assert "admin created: ops@example.com" in done.stdout  # as stored, not as typed
    again = await asyncio.to_thread(create_admin, engine, db_name, "another long password", "ops@example.com")
    assert again.returncode == 1 and "already exists" in again.stderr

    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(engine.uri)
    stored = await client[db_name]["users"].find_one({"email": "ops@example.com"})
    await client.close()
    assert stored is not None and stored["role"] == "admin"

    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://t") as api,
    ):
        login = await api.post(
            f"{API}/auth/login", json={"email": "ops@example.com", "password": "a long admin password"}
        )
        assert login.status_code == 200
        assert login.json()["user"]["role"] == "admin"


def test_create_admin_refuses_a_weak_password(engine: Engine, db_name: str) -> None:
    done = create_admin(engine, db_name, "short", "weak@example.com")
    assert done.returncode == 2
    assert "at least" in done.stderr


def test_the_s3_stand_in_gives_back_what_an_earlier_run_stored(tmp_path: Path) -> None:
    """Written, overwritten, deleted; the server stopped and started on the same store: the same objects."""
    store, port = tmp_path / "s3", free_port()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="dev",
        aws_secret_access_key="x",
    )
    server = stack.s3(port, tmp_path, store).start()
    try:
        client.create_bucket(Bucket="media")
        client.put_object(Bucket="media", Key="a/kept.png", Body=b"first", ContentType="image/png")
        client.put_object(Bucket="media", Key="a/kept.png", Body=b"second", ContentType="image/png")
        client.put_object(Bucket="media", Key="a/gone.pdf", Body=b"%PDF-", ContentType="application/pdf")
        client.delete_object(Bucket="media", Key="a/gone.pdf")
        client.get_object(Bucket="media", Key="a/kept.png")["Body"].read()
    finally:
        server.stop()

    assert object_store.compact(store) == object_store.Compacted(writes=5, unreadable=0)  # the reads dropped
    server = stack.s3(port, tmp_path, store).start()
    try:
        object_store.replay(endpoint)
        assert [o["Key"] for o in client.list_objects_v2(Bucket="media")["Contents"]] == ["a/kept.png"]
        kept = client.get_object(Bucket="media", Key="a/kept.png")
        assert (kept["Body"].read(), kept["ContentType"]) == (b"second", "image/png")
    finally:
        server.stop()


def test_a_request_line_cut_short_by_a_crash_is_dropped_and_the_rest_kept(tmp_path: Path) -> None:
    def entry(method: str, path: str) -> str:
        return json.dumps(
            {"headers": {}, "method": method, "url": f"http://127.0.0.1:9000{path}", "body": ""}
        )

    log = tmp_path / object_store.RECORDING
    log.write_text(
        "\n".join([entry("PUT", "/media"), entry("HEAD", "/media"), entry("POST", "/media")])
        + "\n"
        + entry("POST", "/media")[:40]
    )
    assert object_store.compact(tmp_path) == object_store.Compacted(writes=2, unreadable=1)
    assert [json.loads(line)["method"] for line in log.read_text().splitlines()] == ["PUT", "POST"]


def test_dev_lets_one_address_log_in_as_every_demo_account_twice_and_production_keeps_its_limit() -> None:
    dev = parse(Settings(_env_file=None, environment=Environment.dev).rate_login_ip)
    assert dev.amount >= 2 * len(DEMO_ACCOUNTS)
    copied = Settings(_env_file=ROOT / ".env.example")  # type: ignore[call-arg]
    assert copied.environment is Environment.dev and parse(copied.rate_login_ip) == dev
    for environment in (Environment.production, Environment.test):
        assert Settings(_env_file=None, environment=environment).rate_login_ip == "5/5 minutes"
    chosen = Settings(_env_file=None, environment=Environment.dev, rate_login_ip="3/minute")
    assert chosen.rate_login_ip == "3/minute"
