"""End to end: the chat server accepts only valid, unrevoked sessions of active users (JS and Python clients)."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from beanie import PydanticObjectId
from pymongo import AsyncMongoClient

from shared_models.enums import UserStatus
from tests.chat_server.sockets import JsHeld, PyClient, js_connect
from tests.conftest import LiveStack, live_admin
from tests.factories import API, Account, register_sync

pytestmark = pytest.mark.e2e


@pytest.fixture
def http(live_stack: LiveStack) -> httpx.Client:
    with httpx.Client(base_url=live_stack.platform_url, timeout=10) as client:
        return client


def new_account(live_stack: LiveStack) -> Account:
    with httpx.Client(base_url=live_stack.platform_url, timeout=10) as client:
        return register_sync(client)


def logout(live_stack: LiveStack, account: Account) -> None:
    with httpx.Client(base_url=live_stack.platform_url, timeout=10) as client:
        assert client.post(f"{API}/auth/logout", headers=account.bearer).status_code == 204


@pytest.fixture
async def py_client() -> AsyncIterator[PyClient]:
    client = PyClient()
    yield client
    await client.close()


async def set_status(live_stack: LiveStack, account: Account, status: UserStatus) -> None:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(live_stack.mongodb_uri)
    await client[live_stack.db_name]["users"].update_one(
        {"_id": PydanticObjectId(account.id)}, {"$set": {"status": status.value}}
    )
    await client.close()


def test_js_client_connects_with_a_valid_token(live_stack: LiveStack) -> None:
    account = new_account(live_stack)
    result = js_connect(live_stack.chat_url, "auth", account.token)
    assert result.first("connect") is not None, result.events
    by_cookie = js_connect(live_stack.chat_url, "cookie", account.token)
    assert by_cookie.first("connect") is not None, by_cookie.events


def test_js_client_is_refused_with_a_readable_reason(live_stack: LiveStack) -> None:
    account = new_account(live_stack)
    for mode, token, code in (
        ("auth", "not-a-jwt", "invalid_token"),
        ("auth", account.token[:-4] + "AAAA", "invalid_token"),  # signature tampered
        ("none", "", "not_authenticated"),
    ):
        result = js_connect(live_stack.chat_url, mode, token)
        error = result.first("connect_error")
        assert error is not None, result.events
        assert error["message"] == code
        assert error["data"]["code"] == code and error["data"]["message"]


def test_js_client_is_refused_after_logout(live_stack: LiveStack) -> None:
    account = new_account(live_stack)
    assert js_connect(live_stack.chat_url, "auth", account.token).first("connect") is not None
    logout(live_stack, account)
    error = js_connect(live_stack.chat_url, "auth", account.token).first("connect_error")
    assert error is not None and error["message"] == "session_revoked"


def test_logout_drops_the_sessions_live_socket(live_stack: LiveStack) -> None:
    account = new_account(live_stack)
    held = JsHeld(live_stack.chat_url, account.token)
    logout(live_stack, account)
    result = held.wait_disconnect()
    assert result.first("disconnect") == {"event": "disconnect", "reason": "io server disconnect"}


async def test_python_client_connects_and_is_refused_like_the_js_client(
    live_stack: LiveStack, py_client: PyClient
) -> None:
    account = new_account(live_stack)
    assert await py_client.connect(live_stack.chat_url, token=account.token)
    await py_client.close()
    assert await py_client.connect(live_stack.chat_url, cookie=account.token)
    await py_client.close()

    refused = PyClient()
    assert not await refused.connect(live_stack.chat_url, token="not-a-jwt")
    assert refused.connect_error == {
        "message": "invalid_token",
        "data": {"code": "invalid_token", "message": "The session token is not valid."},
    }

    await asyncio.to_thread(logout, live_stack, account)
    revoked = PyClient()
    assert not await revoked.connect(live_stack.chat_url, token=account.token)
    assert revoked.connect_error["message"] == "session_revoked"


async def test_suspended_users_cannot_connect(live_stack: LiveStack, py_client: PyClient) -> None:
    account = new_account(live_stack)
    await set_status(live_stack, account, UserStatus.suspended)
    assert not await py_client.connect(live_stack.chat_url, token=account.token)
    assert py_client.connect_error["message"] == "account_suspended"


def test_internal_api_refuses_callers_without_the_token(live_stack: LiveStack) -> None:
    with httpx.Client(base_url=live_stack.chat_url, timeout=5) as client:
        response = client.post("/internal/users/000000000000000000000000/disconnect")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "not_authenticated"


def test_an_admin_suspension_drops_the_users_live_sockets(live_stack: LiveStack) -> None:
    """Through the real processes: the admin console's suspend ends the session and the socket at once."""
    admin = live_admin(live_stack)
    account = new_account(live_stack)
    held = JsHeld(live_stack.chat_url, account.token)
    with httpx.Client(base_url=live_stack.platform_url, timeout=10) as client:
        suspended = client.post(
            f"{API}/admin/users/{account.id}/suspend", json={"reason": "Fraud report."}, headers=admin.bearer
        )
        assert suspended.status_code == 200, suspended.text
    result = held.wait_disconnect()
    assert result.first("disconnect") == {"event": "disconnect", "reason": "io server disconnect"}
    again = js_connect(live_stack.chat_url, "auth", account.token).first("connect_error")
    assert again is not None and again["message"] in ("account_suspended", "session_revoked")
