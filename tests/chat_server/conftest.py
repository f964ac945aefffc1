"""Fixtures the chat server's end-to-end tests share."""

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from scripts import stack
from scripts.processes import free_port
from shared_models.runtime.registry import connect, init_models
from tests.conftest import LiveStack


@pytest.fixture
async def db(live_stack: LiveStack) -> AsyncIterator[None]:
    """This test's own connection to the live stack's database (relays and mailers run in-process)."""
    client = connect(live_stack.mongodb_uri, 5000)
    await init_models(client, live_stack.db_name)
    yield
    await client.close()


@pytest.fixture(scope="module")
def smtp(run_dir: Path) -> Iterator[tuple[int, Path]]:
    """An SMTP sink per test module: (port, the folder its .eml files land in)."""
    port, maildir = free_port(), run_dir / f"mail-{uuid.uuid4().hex[:6]}"
    proc = stack.smtp_sink(port, maildir, run_dir / "logs").start()
    yield port, maildir
    proc.stop()
