"""Both services create notifications through the one function, and it makes the same document either way."""

from pathlib import Path

import httpx
import pytest

from chat_server.app import ChatApp
from chat_server.events.messages import message_payload, notify_recipient
from platform_api.config import Settings
from shared_models.clock import ManualClock
from shared_models.documents import Notification
from shared_models.enums import Role
from shared_models.services import conversations
from shared_models.services.conversations import Members
from tests.contracts import NOTIFY_CALLERS, calls_notify, notification_creators
from tests.factories import register
from tests.platform_api.notifications.helpers import publish, relay_for

ROOT = Path(__file__).resolve().parents[3]


def test_only_the_creation_path_creates_and_both_services_call_it() -> None:
    assert notification_creators(ROOT) == []
    for rel in NOTIFY_CALLERS:
        assert calls_notify(ROOT, rel), rel


@pytest.mark.parametrize(
    "source",
    [
        "from shared_models.documents import Notification\nasync def f():\n    await Notification(recipient_id='x').insert()\n",
        "from shared_models import documents\nasync def f(docs):\n    await documents.Notification.insert_many(docs)\n",
        "from shared_models.documents import NotificationClaim\nasync def f():\n    return await NotificationClaim.find_one({})\n",
        # disguised: an import alias, a module alias, a class alias, the store, a claim under another name
        "from shared_models.documents import Notification as N\nasync def f(**k):\n    await N(**k).insert()\n",
        "from shared_models import documents as d\nasync def f(**k):\n    await d.Notification(**k).insert()\n",
        "from shared_models.documents import Notification\nMade = Notification\nasync def f(docs):\n"
        "    await Made.insert_many(docs)\n",
        "from shared_models import store\nfrom shared_models.documents import Notification as N\n"
        "async def f(rows):\n    await store.insert_new(N, rows)\n",
        "from shared_models.documents import NotificationClaim as C\nasync def f():\n    return await C.find_one({})\n",
    ],
)
def test_the_contract_catches_a_second_creator(tmp_path: Path, source: str) -> None:
    target = tmp_path / "chat_server" / "sneaky.py"
    target.parent.mkdir(parents=True)
    target.write_text(source)
    assert len(notification_creators(tmp_path, ("chat_server",))) >= 1


async def test_the_chat_path_and_the_relay_path_make_the_same_document(
    api: httpx.AsyncClient, clock: ManualClock, settings: Settings, chat_app: ChatApp
) -> None:
    """A message notified by the chat server, and one arriving at the platform's relay as a domain event,
    go through one function: the same document but for what names the conversation and the ids."""
    provider = await register(api, Role.provider)
    docs = []
    for path in ("chat", "relay"):
        customer = await register(api, Role.customer)
        conversation, _ = await conversations.start(
            customer.id, provider.id, provider.body["provider"]["id"], None, clock.now()
        )
        message, _ = await conversations.send(conversation, customer.id, "same words", [], path, clock.now())
        if path == "chat":
            await notify_recipient(chat_app.ctx, Members.of(conversation), [message])
        else:
            await publish("message.created", message_payload(message, provider.id), clock.now())
            assert await relay_for(settings, chat_app, clock).drain() >= 1
        found = await Notification.find_one(
            {"recipient_id": provider.id, "data.conversation_id": str(conversation.id)}
        )
        assert found is not None, path
        docs.append(found)
    varying = {
        "id",
        "revision_id",
        "source_ids",
        "collapse_key",
        "open_key",
        "updated_key",
        "unread_key",
        "data",
    }
    chat_doc, relay_doc = (d.model_dump(exclude=varying) for d in docs)
    assert chat_doc == relay_doc and chat_doc["type"] == "new_message" and chat_doc["body"] == "same words"
    assert set(docs[0].data) == set(docs[1].data)


async def test_a_failed_notification_in_the_chat_server_is_finished_by_the_relay_once(
    api: httpx.AsyncClient,
    clock: ManualClock,
    settings: Settings,
    chat_app: ChatApp,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import chat_server.events.messages as chat_messages

    provider = await register(api, Role.provider)
    customer = await register(api, Role.customer)
    conversation, _ = await conversations.start(
        customer.id, provider.id, provider.body["provider"]["id"], None, clock.now()
    )
    message, _ = await conversations.send(conversation, customer.id, "are you free?", [], "x1", clock.now())

    async def broken(*_: object) -> None:
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(chat_messages, "notify_recipient", broken)
    await chat_messages.notify_or_defer(chat_app.ctx, Members.of(conversation), [message])
    monkeypatch.undo()
    assert await Notification.find({"recipient_id": provider.id}).to_list() == []
    assert await relay_for(settings, chat_app, clock).drain() >= 1
    [stored] = await Notification.find({"recipient_id": provider.id}).to_list()
    assert stored.type == "new_message" and stored.body == "are you free?"
    await chat_messages.notify_or_defer(
        chat_app.ctx, Members.of(conversation), [message]
    )  # a late retry: one
    assert [n.occurrences for n in await Notification.find({"recipient_id": provider.id}).to_list()] == [1]
