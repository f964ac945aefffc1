from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from platform_api.config import Settings
from platform_api.notifications.mailer import Mailer
from scripts import stack
from scripts.processes import ManagedProcess, free_port
from tests.platform_api.bookings.helpers import Parties, make_parties


@pytest.fixture
async def parties(api: httpx.AsyncClient) -> Parties:
    return await make_parties(api)


@pytest.fixture(scope="module")
def sink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ManagedProcess, int, Path]]:
    port, root = free_port(), tmp_path_factory.mktemp("smtp")
    proc = stack.smtp_sink(port, root / "mail", root).start()
    yield proc, port, root / "mail"
    proc.stop()


@pytest.fixture
def mailer(settings: Settings, sink: tuple[ManagedProcess, int, Path]) -> Mailer:
    return Mailer(settings.model_copy(update={"smtp_port": sink[1]}))
