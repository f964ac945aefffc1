"""Ops and dev tools, run as real processes (the engine, the S3 stand-in), and the dev settings they rely on."""

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import httpx
from limits import parse
from pymongo import AsyncMongoClient

from platform_api.config import Settings
from platform_api.main import create_app
from platform_api.media.storage import ObjectStorage
from scripts import object_store, stack
from scripts.processes import free_port
from scripts.seed import (
    CARD_BOOKINGS,
    CARD_PROVIDER,
    DEMO_ACCOUNTS,
    DEMO_ADMIN,
    DEMO_CUSTOMER,
    DEMO_PASSWORD,
    DISPUTED_PROVIDER,
    PROVIDER_ANSWER,
)
from shared_models.runtime.settings import Environment
from tests.conftest import Engine, run_create_admin, service_env
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


def run_seed(engine: Engine, db_name: str, stripe_api: str, s3: str) -> subprocess.CompletedProcess[str]:
    """`python -m scripts.seed` as the browser tests run it against their stack."""
    return subprocess.run(
        [sys.executable, "-m", "scripts.seed"],
        env={**os.environ, **service_env(engine.uri, db_name, stripe_api, s3)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


async def test_the_seed_opens_one_dispute_and_pays_two_bookings_by_card_however_often_it_runs(
    engine: Engine, db_name: str, stripe_api: str, s3: str, settings: Settings
) -> None:
    """The dispute has a photo, a PDF and the provider's answer; the card provider's bookings are one captured
    and one authorised. The suite's stand-in sends no webhooks: the seed handled every event itself."""
    outputs = []
    for _ in range(2):
        done = await asyncio.to_thread(run_seed, engine, db_name, stripe_api, s3)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    printed = [re.search(r"^dispute: ([0-9a-f]{24})\b", out, re.MULTILINE) for out in outputs]
    assert printed[0] is not None and printed[1] is not None
    dispute_id = printed[0].group(1)
    assert printed[1].group(1) == dispute_id
    assert all(email in outputs[0] for email in DEMO_ACCOUNTS)

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(engine.uri)
    try:
        db = client[db_name]
        volt = await db["users"].find_one({"email": DISPUTED_PROVIDER})
        assert volt is not None
        (request,) = await db["service_requests"].find({"provider_user_id": str(volt["_id"])}).to_list()
        assert request["state"] == "disputed"
        disputes = await db["disputes"].find({}).to_list()
        assert [(str(d["_id"]), d["request_id"], d["category"]) for d in disputes] == [
            (dispute_id, str(request["_id"]), "poor_quality")
        ]
        evidence = await db["dispute_evidence"].find({"dispute_id": dispute_id}).sort("seq_key").to_list()
        media = {str(m["_id"]): m for m in await db["media_objects"].find({}).to_list()}
        fixit = await db["users"].find_one({"email": CARD_PROVIDER})
        assert fixit is not None
        card_paid = (
            await db["service_requests"]
            .find({"provider_user_id": str(fixit["_id"]), "payment_required": True})
            .to_list()
        )
        handled = await db["webhook_deliveries"].find({"source": "seed"}).to_list()
    finally:
        await client.close()

    assert [(e["author_role"], e["kind"], e.get("content_type")) for e in evidence] == [
        ("customer", "media", "image/jpeg"),
        ("customer", "media", "application/pdf"),
        ("provider", "statement", None),
    ]
    assert evidence[2]["text"] == PROVIDER_ANSWER
    # Booked, authorised and (the first) accepted once; each of Stripe's payment events handled once.
    paid = {r["description"]: str(r["_id"]) for r in card_paid}
    assert sorted(paid) == sorted(plan.description for plan in CARD_BOOKINGS)
    assert all(paid[plan.description] in outputs[1] for plan in CARD_BOOKINGS)  # the guide lists them
    processed = [(d["event_id"], d["event_type"]) for d in handled if d["outcome"] == "processed"]
    assert len(processed) == len(set(processed))  # the second run's are duplicates
    assert {"account.updated", "payment_intent.amount_capturable_updated", "payment_intent.succeeded"} <= {
        event_type for _, event_type in processed
    }
    storage = ObjectStorage(settings)
    for item in evidence[:2]:
        uploaded = media[item["media_id"]]
        assert uploaded["status"] == "ready" and uploaded["key"] == item["media_key"]
        stored = await storage.read(item["media_key"], 10 * 1024 * 1024)
        assert stored is not None and stored.data is not None and stored.size == item["size"]
    assert len(media) == 2  # the second run uploaded nothing

    # What the admin console shows of it: the files can be shown in the page.
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://t") as api,
    ):
        login = await api.post(f"{API}/auth/login", json={"email": DEMO_ADMIN, "password": DEMO_PASSWORD})
        assert login.status_code == 200, login.text
        bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
        view = await api.get(f"{API}/admin/disputes/{dispute_id}", headers=bearer)
        login = await api.post(f"{API}/auth/login", json={"email": DEMO_CUSTOMER, "password": DEMO_PASSWORD})
        customer = {"Authorization": f"Bearer {login.json()['access_token']}"}
        payments = {
            plan.description: (
                await api.get(f"{API}/requests/{paid[plan.description]}/payment", headers=customer)
            )
            for plan in CARD_BOOKINGS
        }
    assert view.status_code == 200, view.text
    captured, authorised = (payments[plan.description].json() for plan in CARD_BOOKINGS)
    assert CARD_BOOKINGS[0].accepted and not CARD_BOOKINGS[1].accepted
    assert (captured["status"], captured["amount"], captured["amount_received"]) == (
        "succeeded",
        CARD_BOOKINGS[0].amount_minor,
        CARD_BOOKINGS[0].amount_minor,
    ), captured
    assert captured["application_fee_amount"] > 0 and captured["currency"] == "GBP"
    assert [(i["action"], i["executed_at"] is not None) for i in captured["instructions"]] == [
        ("capture", True)
    ]
    assert (authorised["status"], authorised["amount_capturable"]) == (
        "requires_capture",
        CARD_BOOKINGS[1].amount_minor,
    ), authorised
    assert view.json()["booking"]["agreed_price"] == {"amount_minor": 9500, "currency": "GBP"}
    files = [
        i["evidence"] for i in view.json()["items"] if i["kind"] == "evidence" and i["evidence"]["media"]
    ]
    async with httpx.AsyncClient() as browser:
        for item in files:
            shown = await browser.get(item["view_url"])
            assert shown.status_code == 200
            assert shown.headers["content-type"] == item["media"]["content_type"]
            assert shown.headers["content-disposition"].startswith("inline;")
