"""GDPR: the export holds every collection's data for the user; deletion leaves no email or name anywhere,
ends every session, and the counterpart still sees the conversation, anonymised."""

import json
import uuid
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from platform_api.account.service import EXPORTED_MODELS, NOT_PERSONAL
from platform_api.config import Settings
from shared_models.clock import ManualClock
from shared_models.enums import Role
from shared_models.notifications import CATALOGUE
from shared_models.runtime.registry import DOCUMENT_MODELS
from shared_models.services import conversations
from shared_models.services.notifications import Presence, notify
from tests.conftest import ClientFactory
from tests.factories import API, PASSWORD, Account, register, register_subscribed
from tests.platform_api.bookings.helpers import request_payload


def test_every_collection_is_exported_or_holds_nothing_personal() -> None:
    names = {m.__name__ for m in DOCUMENT_MODELS}
    assert EXPORTED_MODELS | set(NOT_PERSONAL) == names
    assert not EXPORTED_MODELS & set(NOT_PERSONAL)


@pytest.fixture
async def pair(
    api: httpx.AsyncClient, api_factory: ClientFactory, clock: ManualClock
) -> tuple[Account, Account, str]:
    """A customer with a bit of everything: a booking, a conversation both ways, a notification, a
    preference, consents, mail, a logged-out session; and the provider they deal with."""
    name = f"Zelda Quill {uuid.uuid4().hex[:6]}"
    customer = await register(api, Role.customer, display_name=name)
    provider = await register_subscribed(api)
    booked = await api.post(
        f"{API}/requests",
        json=request_payload(provider.body["provider"]["id"], clock.now()),
        headers=customer.bearer,
    )
    assert booked.status_code == 201
    started = await api.post(
        f"{API}/conversations", json={"provider_id": provider.body["provider"]["id"]}, headers=customer.bearer
    )
    conversation_id = started.json()["id"]
    conversation = await conversations.get_for_participant(conversation_id, customer.id)
    assert conversation is not None
    await conversations.send(conversation, customer.id, "hello, it's Zelda", [], "c1", clock.now())
    await conversations.send(conversation, provider.id, "hi Zelda", [], "p1", clock.now())
    payload = {
        "conversation_id": conversation_id,
        "sender_id": provider.id,
        "recipient_id": customer.id,
        "preview": "hi",
    }
    await notify(CATALOGUE["new_message"], customer.id, "m:p1", payload, Presence(False, False), clock.now())
    await api.put(
        f"{API}/notifications/preferences",
        json={"disabled": ["request_accepted:email"]},
        headers=customer.bearer,
    )
    async with api_factory() as other_device:
        second = await other_device.post(
            f"{API}/auth/login", json={"email": customer.email, "password": PASSWORD}
        )
        await other_device.post(
            f"{API}/auth/logout", headers={"Authorization": f"Bearer {second.json()['access_token']}"}
        )
    return customer, provider, conversation_id


async def test_the_export_holds_every_collection_of_the_user(
    api: httpx.AsyncClient, pair: tuple[Account, Account, str]
) -> None:
    customer, provider, _ = pair
    mine = (await api.get(f"{API}/account/export", headers=customer.bearer)).json()
    assert mine["account"]["email"] == customer.email and "password_hash" not in mine["account"]
    for section in (
        "requests_as_customer", "conversations_as_customer", "messages_sent", "notifications",
        "notification_deliveries", "notification_preferences", "consents", "emails", "sessions_logged_out",
    ):  # fmt: skip
        assert mine[section], section
    [conversation] = mine["conversations_as_customer"]
    assert [m["body"] for m in conversation["messages"]] == ["hello, it's Zelda", "hi Zelda"]
    assert [m["body"] for m in mine["messages_sent"]] == ["hello, it's Zelda"]
    theirs = (await api.get(f"{API}/account/export", headers=provider.bearer)).json()
    for section in (
        "provider_profile",
        "requests_as_provider",
        "subscription",
        "billing_customer",
        "conversations_as_provider",
    ):
        assert theirs[section], section
    assert theirs["requests_as_provider"][0]["_id"] == mine["requests_as_customer"][0]["_id"]


async def everything(settings: Settings) -> str:
    """Every document of the database, as one text: what a search for a name or an email would find."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_uri)
    db = client[settings.mongodb_db]
    docs = [d for name in await db.list_collection_names() async for d in db[name].find({})]
    await client.close()
    return json.dumps(docs, default=str)


async def test_deletion_leaves_no_email_or_name_and_keeps_the_conversation_anonymised(
    api: httpx.AsyncClient, settings: Settings, pair: tuple[Account, Account, str]
) -> None:
    customer, provider, conversation_id = pair
    name = customer.body["user"]["display_name"]
    assert customer.email in await everything(settings) and name in await everything(settings)

    wrong = await api.request(
        "DELETE", f"{API}/account", json={"password": "not it"}, headers=customer.bearer
    )
    assert wrong.status_code == 401 and name in await everything(settings)
    done = await api.request("DELETE", f"{API}/account", json={"password": PASSWORD}, headers=customer.bearer)
    assert done.status_code == 204

    stored = await everything(settings)
    assert customer.email not in stored and name not in stored
    assert (await api.get(f"{API}/auth/me", headers=customer.bearer)).status_code == 401
    login = await api.post(f"{API}/auth/login", json={"email": customer.email, "password": PASSWORD})
    assert login.status_code == 401
    history = await api.get(f"{API}/conversations/{conversation_id}/messages", headers=provider.bearer)
    assert [m["body"] for m in history.json()["items"]] == ["hi Zelda", "hello, it's Zelda"]
    requests = (await api.get(f"{API}/requests", headers=provider.bearer)).json()["items"]
    assert requests and requests[0]["address"].startswith("(removed")
