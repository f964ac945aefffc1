"""The scheduler as its own process (`python -m platform_api.worker`) expires overdue requests."""

import asyncio
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from pymongo import MongoClient

from scripts.processes import wait_until
from shared_models.clock import ManualClock
from tests.conftest import Engine, service_env
from tests.platform_api.bookings.helpers import create_direct, make_parties

pytestmark = pytest.mark.e2e


def run_worker_until_expired(engine: Engine, db_name: str, count: int, tmp_path: Path) -> int:
    env = {**os.environ, **service_env(engine.uri, db_name), "SWEEP_INTERVAL_SECONDS": "0.2"}
    with (tmp_path / "worker.log").open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "platform_api.worker"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    client: MongoClient[dict[str, object]] = MongoClient(engine.uri, tz_aware=True)
    collection = client[db_name]["service_requests"]
    try:
        wait_until(
            lambda: collection.count_documents({"state": "expired"}) == count, 30, "the worker to expire all"
        )
    finally:
        worker.terminate()
        code = worker.wait(15)
        client.close()
    return code


async def test_worker_process_sweeps_overdue_requests(
    api: httpx.AsyncClient, clock: ManualClock, engine: Engine, db_name: str, tmp_path: Path
) -> None:
    parties = await make_parties(api)
    clock.advance(-timedelta(days=3))  # created three days ago: overdue by now, by the real clock
    ids = [str((await create_direct(parties, clock.now())).id) for _ in range(5)]
    code = await asyncio.to_thread(run_worker_until_expired, engine, db_name, len(ids), tmp_path)
    assert code == 0, (tmp_path / "worker.log").read_text()
