import httpx
import pytest

from tests.platform_api.bookings.helpers import Parties, make_parties


@pytest.fixture
async def parties(api: httpx.AsyncClient) -> Parties:
    return await make_parties(api)
