"""Ops tools run as real processes against the real engine."""

import asyncio
import subprocess

import httpx
from pymongo import AsyncMongoClient

from platform_api.config import Settings
from platform_api.main import create_app
from tests.conftest import Engine, run_create_admin
from tests.factories import API


def create_admin(engine: Engine, db_name: str, password: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_create_admin(engine.uri, db_name, password, *args)


async def test_create_admin_makes_an_admin_who_can_log_in(
    engine: Engine, db_name: str, settings: Settings
) -> None:
    done = await asyncio.to_thread(create_admin, engine, db_name, "a long admin password", "Ops@Example.com")
    assert done.returncode == 0, done.stderr
    assert "admin created: Ops@Example.com" in done.stdout
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
