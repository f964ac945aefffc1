"""End to end over real processes, with the official JS client: messages, receipts, typing, presence, blocking."""

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from shared_models.documents import Conversation, Notification
from shared_models.enums import Role
from shared_models.services.conversations import Members, Outgoing, insert_messages
from tests.chat_server.clients import JsClient, PyClient
from tests.conftest import CHAT_MESSAGE_LIMIT, TEST_INTERNAL_TOKEN, LiveStack
from tests.factories import API, Account, account_of, register_payload
from tests.media import JPEG, start, upload

pytestmark = pytest.mark.e2e
Client = JsClient | PyClient


@dataclass
class Chat:
    rest: httpx.AsyncClient
    customer: Account
    provider: Account
    conversation_id: str
    clients: list[Client]
    url: str

    async def connect(self, account: Account, kind: type[Client] = JsClient, join: bool = True) -> Client:
        client = kind()
        status = await client.connect(self.url, account.token)
        assert status["type"] == "connect", status
        self.clients.append(client)
        if join:
            ack = await client.emit("conversation:join", {"conversationId": self.conversation_id})
            assert ack == {"ok": True, "conversationId": self.conversation_id}
        return client

    async def conversation(self, account: Account) -> dict[str, Any]:
        response = await self.rest.get(f"{API}/conversations/{self.conversation_id}", headers=account.bearer)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


async def new_account(rest: httpx.AsyncClient, role: Role) -> Account:
    response = await rest.post(f"{API}/auth/register", json=register_payload(role))
    assert response.status_code == 201, response.text
    return account_of(response.json())


async def open_conversation(rest: httpx.AsyncClient, customer: Account, provider: Account) -> str:
    response = await rest.post(
        f"{API}/conversations", json={"provider_id": provider.body["provider"]["id"]}, headers=customer.bearer
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def pair(rest: httpx.AsyncClient) -> tuple[Account, Account, str]:
    """A new customer and provider (through the platform `rest` talks to), and their conversation's id."""
    customer = await new_account(rest, Role.customer)
    provider = await new_account(rest, Role.provider)
    return customer, provider, await open_conversation(rest, customer, provider)


async def new_pair(platform_url: str) -> tuple[Account, Account, str]:
    """`pair`, on a client of its own."""
    async with httpx.AsyncClient(base_url=platform_url, timeout=20) as rest:
        return await pair(rest)


@pytest.fixture
async def chat(live_stack: LiveStack) -> AsyncIterator[Chat]:
    async with httpx.AsyncClient(base_url=live_stack.platform_url, timeout=20) as rest:
        customer, provider, conversation_id = await pair(rest)
        state = Chat(rest, customer, provider, conversation_id, [], live_stack.chat_url)
        yield state
        for client in state.clients:
            await client.close()


def send(conversation_id: str, body: str, client_id: str | None = None) -> dict[str, Any]:
    return {"conversationId": conversation_id, "clientId": client_id or uuid.uuid4().hex, "body": body}


async def test_two_users_chat_in_order_and_history_loads_over_rest(chat: Chat) -> None:
    alice = await chat.connect(chat.customer)
    bob = await chat.connect(chat.provider)
    bodies = [f"message {i}" for i in range(6)]
    for body in bodies:
        ack = await alice.emit("message:send", send(chat.conversation_id, body))
        assert ack["ok"] is True and ack["duplicate"] is False and ack["message"]["body"] == body
    received = [await bob.inbox.expect("message:new") for _ in bodies]
    assert [m["body"] for m in received] == bodies
    assert {m["senderId"] for m in received} == {chat.customer.id}
    reply = await bob.emit("message:send", send(chat.conversation_id, "hello back"))
    assert (await alice.inbox.expect("message:new"))["id"] == reply["message"]["id"]

    history = await chat.rest.get(
        f"{API}/conversations/{chat.conversation_id}/messages",
        params={"limit": 4},
        headers=chat.provider.bearer,
    )
    page = history.json()
    assert [m["body"] for m in page["items"]] == ["hello back", "message 5", "message 4", "message 3"]
    older = await chat.rest.get(
        f"{API}/conversations/{chat.conversation_id}/messages",
        params={"limit": 4, "before": page["next_cursor"]},
        headers=chat.provider.bearer,
    )
    assert [m["body"] for m in older.json()["items"]] == ["message 2", "message 1", "message 0"]
    assert older.json()["next_cursor"] is None


async def test_resend_with_the_same_client_id_stores_one_message(chat: Chat) -> None:
    alice = await chat.connect(chat.customer)
    bob = await chat.connect(chat.provider)
    first = await alice.emit("message:send", send(chat.conversation_id, "once", client_id="c-1"))
    again = await alice.emit("message:send", send(chat.conversation_id, "once", client_id="c-1"))
    assert again["duplicate"] is True and again["message"]["id"] == first["message"]["id"]
    await alice.emit("message:send", send(chat.conversation_id, "sentinel"))
    assert (await bob.inbox.expect("message:new"))["body"] == "once"
    assert (await bob.inbox.expect("message:new"))["body"] == "sentinel"  # no second copy in between
    history = await chat.rest.get(
        f"{API}/conversations/{chat.conversation_id}/messages", headers=chat.customer.bearer
    )
    assert [m["body"] for m in history.json()["items"]] == ["sentinel", "once"]


async def test_read_moves_the_senders_receipt_and_the_unread_count(chat: Chat) -> None:
    alice = await chat.connect(chat.customer)
    bob = await chat.connect(chat.provider)
    sent = [
        (await alice.emit("message:send", send(chat.conversation_id, f"m{i}")))["message"] for i in range(3)
    ]
    ids = [m["id"] for m in sent]
    for _ in ids:
        await bob.inbox.expect("message:new")
    assert (await chat.conversation(chat.provider))["unread"] == 3
    assert (await chat.conversation(chat.customer))["unread"] == 0
    ack = await bob.emit("message:read", {"conversationId": chat.conversation_id, "messageId": ids[1]})
    assert ack == {"ok": True, "upToMessageId": ids[1], "upToSeq": sent[1]["seq"]}
    receipt = await alice.inbox.expect("message:receipt")
    assert receipt["upToMessageId"] == ids[1] and receipt["readerId"] == chat.provider.id
    assert (await chat.conversation(chat.provider))["unread"] == 1
    # reading an older message never moves the marker back
    await bob.emit("message:read", {"conversationId": chat.conversation_id, "messageId": ids[0]})
    assert (await chat.conversation(chat.provider))["unread"] == 1
    await bob.emit("message:read", {"conversationId": chat.conversation_id, "messageId": ids[2]})
    assert (await chat.conversation(chat.provider))["unread"] == 0
    listing = await chat.rest.get(f"{API}/conversations", headers=chat.provider.bearer)
    assert listing.json()["items"][0]["last_message"]["preview"] == "m2"


async def test_typing_reaches_only_the_counterpart(chat: Chat) -> None:
    alice = await chat.connect(chat.customer)
    bob = await chat.connect(chat.provider)
    # A third user in another conversation with Alice must see none of this conversation's typing.
    carol_account = await new_account(chat.rest, Role.provider)
    other_id = await open_conversation(chat.rest, chat.customer, carol_account)
    carol = await chat.connect(carol_account, join=False)
    assert (await carol.inbox.expect("presence:update")) == {"userId": chat.customer.id, "online": True}
    ack = await alice.emit("typing", {"conversationId": chat.conversation_id, "isTyping": True})
    assert ack == {"ok": True}
    assert await bob.inbox.expect("typing:update") == {
        "conversationId": chat.conversation_id,
        "userId": chat.customer.id,
        "isTyping": True,
    }
    await alice.emit("message:send", send(other_id, "to carol"))
    assert (await carol.inbox.expect("message:new", skip=frozenset()))[
        "body"
    ] == "to carol"  # no typing:update first
    while not alice.inbox.empty():  # the typist does not hear itself
        name, _ = await alice.inbox.next()
        assert name == "presence:update"


async def test_presence_goes_offline_only_when_the_last_device_disconnects(chat: Chat) -> None:
    alice = await chat.connect(chat.customer, join=False)
    phone = await chat.connect(chat.provider, PyClient, join=False)
    assert await alice.inbox.expect("presence:update") == {"userId": chat.provider.id, "online": True}
    laptop = await chat.connect(chat.provider, JsClient)
    await phone.close()
    await laptop.emit("message:send", send(chat.conversation_id, "still here"))
    assert (await alice.inbox.expect("message:new", skip=frozenset()))[
        "body"
    ] == "still here"  # no "offline" first
    await laptop.close()
    assert await alice.inbox.expect("presence:update") == {"userId": chat.provider.id, "online": False}


async def test_a_stranger_cannot_join_read_or_send_and_gets_404_over_rest(chat: Chat) -> None:
    stranger_account = await new_account(chat.rest, Role.customer)
    stranger = await chat.connect(stranger_account, join=False)
    for event, data in (
        ("conversation:join", {"conversationId": chat.conversation_id}),
        ("message:send", send(chat.conversation_id, "let me in")),
        ("message:read", {"conversationId": chat.conversation_id, "messageId": "6650f0c2a1b2c3d4e5f60718"}),
        ("typing", {"conversationId": chat.conversation_id, "isTyping": True}),
    ):
        ack = await stranger.emit(event, data)
        assert ack["ok"] is False and ack["error"]["code"] == "not_found", (event, ack)
    for path in ("", "/messages"):
        response = await chat.rest.get(
            f"{API}/conversations/{chat.conversation_id}{path}", headers=stranger_account.bearer
        )
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "conversation_not_found"
    assert (
        await chat.rest.put(
            f"{API}/conversations/{chat.conversation_id}/block", headers=stranger_account.bearer
        )
    ).status_code == 404


MALFORMED: list[tuple[str, Any]] = [
    ("conversation:join", {}),
    ("conversation:join", {"conversationId": "not-an-id"}),
    ("conversation:join", "just a string"),
    ("conversation:leave", {"conversationId": 42}),
    ("message:send", {"conversationId": "6650f0c2a1b2c3d4e5f60718", "body": "no client id"}),
    ("message:send", {"conversationId": "6650f0c2a1b2c3d4e5f60718", "clientId": "x", "body": ""}),
    ("message:send", {"conversationId": "6650f0c2a1b2c3d4e5f60718", "clientId": "x", "body": "y" * 4001}),
    (
        "message:send",
        {"conversationId": "6650f0c2a1b2c3d4e5f60718", "clientId": "x", "body": "z", "extra": 1},
    ),
    ("message:read", {"conversationId": "6650f0c2a1b2c3d4e5f60718"}),
    ("message:read", [1, 2, 3]),
    ("typing", {"conversationId": "6650f0c2a1b2c3d4e5f60718", "isTyping": "maybe"}),
    ("typing", None),
    # never coerced: what a client sends must already be what the schema says
    ("typing", {"conversationId": "6650f0c2a1b2c3d4e5f60718", "isTyping": "true"}),
    ("typing", {"conversationId": "6650f0c2a1b2c3d4e5f60718", "isTyping": 1}),
    ("message:send", {"conversationId": "6650f0c2a1b2c3d4e5f60718", "clientId": 7, "body": "z"}),
    # a message says something, once per attachment
    ("message:send", {"conversationId": "6650f0c2a1b2c3d4e5f60718", "clientId": "x", "body": "  \n\t "}),
    ("message:send", {"conversationId": "6650f0c2a1b2c3d4e5f60718", "clientId": "x", "body": "a\u0000b"}),
    (
        "message:send",
        {
            "conversationId": "6650f0c2a1b2c3d4e5f60718",
            "clientId": "x",
            "body": "two of the same",
            "attachments": ["6650f0c2a1b2c3d4e5f60718", "6650f0c2a1b2c3d4e5f60718"],
        },
    ),
]


@pytest.mark.parametrize(
    ("event", "payload"), MALFORMED, ids=[f"{e}-{i}" for i, (e, _) in enumerate(MALFORMED)]
)
async def test_malformed_payloads_get_invalid_payload_acks(
    chat: Chat, live_stack: LiveStack, event: str, payload: Any
) -> None:
    client = await chat.connect(chat.customer, join=False)
    assert isinstance(client, JsClient)
    ack = await client.emit_raw(event, payload)
    assert ack["ok"] is False and ack["error"]["code"] == "invalid_payload", ack
    assert ack["error"]["message"]
    log = live_stack.chat.log_path
    assert log is not None and "Traceback" not in log.read_text() and "event_failed" not in log.read_text()


async def test_blocking_really_blocks_and_unblocking_resumes(chat: Chat) -> None:
    alice = await chat.connect(chat.customer)
    bob = await chat.connect(chat.provider)
    blocked = await chat.rest.put(
        f"{API}/conversations/{chat.conversation_id}/block", headers=chat.provider.bearer
    )
    assert blocked.status_code == 200 and blocked.json()["blocked_by_me"] is True
    # The block withdraws what Bob was shown of Alice (her typing there), then nothing of hers passes.
    assert (await bob.inbox.expect("typing:update"))["isTyping"] is False
    for sender in (alice, bob):
        ack = await sender.emit("message:send", send(chat.conversation_id, "anyone there?"))
        assert ack["ok"] is False and ack["error"]["code"] == "blocked"
    await alice.emit(
        "typing", {"conversationId": chat.conversation_id, "isTyping": True}
    )  # hidden, not forwarded
    unblocked = await chat.rest.delete(
        f"{API}/conversations/{chat.conversation_id}/block", headers=chat.provider.bearer
    )
    assert unblocked.json()["blocked"] is False
    ack = await alice.emit("message:send", send(chat.conversation_id, "back again"))
    assert ack["ok"] is True
    assert (await bob.inbox.expect("message:new"))["body"] == "back again"  # no typing from the block period
    history = await chat.rest.get(
        f"{API}/conversations/{chat.conversation_id}/messages", headers=chat.customer.bearer
    )
    assert [m["body"] for m in history.json()["items"]] == ["back again"]


async def test_sending_too_fast_is_rate_limited(chat: Chat) -> None:
    alice = await chat.connect(chat.customer)
    codes = []
    for i in range(CHAT_MESSAGE_LIMIT + 30):
        ack = await alice.emit("message:send", send(chat.conversation_id, f"spam {i}"))
        codes.append("ok" if ack["ok"] else ack["error"]["code"])
    assert codes[:CHAT_MESSAGE_LIMIT] == ["ok"] * CHAT_MESSAGE_LIMIT
    # A sliding window counter: when the burst straddles two of its windows, a few more may pass (the
    # previous window's count is weighted down), never fewer.
    assert codes[CHAT_MESSAGE_LIMIT:].count("rate_limited") >= 10, codes[CHAT_MESSAGE_LIMIT:]


async def test_internal_api_delivers_catalogue_events_and_refuses_bad_secrets(
    chat: Chat, live_stack: LiveStack
) -> None:
    bob = await chat.connect(chat.provider, join=False)
    url = f"{live_stack.chat_url}/internal/users/{chat.provider.id}/events"
    event = {
        "event": "notification:new",
        "data": {
            "id": "n1",
            "type": "request_created",
            "title": "New booking request",
            "body": "New booking request",
            "count": 1,
            "createdAt": "2026-01-01T00:00:00Z",
            "updatedAt": "2026-01-01T00:00:00Z",
        },
    }
    others = [f"{live_stack.chat_url}/internal/presence", f"{live_stack.chat_url}/internal/notifications"]
    async with httpx.AsyncClient(timeout=10) as client:
        for headers in ({}, {"X-Internal-Token": "wrong"}):
            refused = await client.post(url, json=event, headers=headers)
            assert refused.status_code == 401
            for other in others:
                assert (
                    await client.post(other, json={"queries": [], "deliveries": []}, headers=headers)
                ).status_code == 401
        good = {"X-Internal-Token": TEST_INTERNAL_TOKEN}
        bad = await client.post(url, json={"event": "message:hack", "data": {}}, headers=good)
        assert bad.status_code == 422
        delivered = await client.post(url, json=event, headers=good)
        assert delivered.status_code == 200
    notification = await bob.inbox.expect("notification:new", skip=frozenset({"presence:update"}))
    assert notification["id"] == "n1" and notification["type"] == "request_created"


@pytest.mark.parametrize("kind", [JsClient, PyClient], ids=["js", "python"])
async def test_both_clients_speak_the_same_protocol(chat: Chat, kind: Callable[[], Client]) -> None:
    alice = await chat.connect(chat.customer, kind)  # type: ignore[arg-type]
    bob = await chat.connect(chat.provider, JsClient)
    ack = await alice.emit("message:send", send(chat.conversation_id, "hi"))
    assert ack["ok"] is True
    assert (await bob.inbox.expect("message:new"))["body"] == "hi"


async def test_attachments_must_be_the_senders_own_confirmed_uploads(chat: Chat) -> None:
    """Through the real stack: the upload goes to moto, is confirmed, rides along in a message, and only
    then may the other participant download it; someone else's upload or an unconfirmed one never rides."""
    alice = await chat.connect(chat.customer)
    bob = await chat.connect(chat.provider)
    mine = (await upload(chat.rest, chat.customer))["id"]
    bobs_link = await chat.rest.get(f"{API}/media/{mine}/download", headers=chat.provider.bearer)
    assert bobs_link.status_code == 404  # not shared with him yet
    ok_ack = await alice.emit(
        "message:send", {**send(chat.conversation_id, "see photo"), "attachments": [mine]}
    )
    assert ok_ack["ok"] is True and ok_ack["message"]["attachments"] == [mine]
    assert (await bob.inbox.expect("message:new"))["attachments"] == [mine]
    bobs_link = await chat.rest.get(f"{API}/media/{mine}/download", headers=chat.provider.bearer)
    assert bobs_link.status_code == 200
    async with httpx.AsyncClient() as storage:
        assert (await storage.get(bobs_link.json()["url"])).content == JPEG
    stranger = await new_account(chat.rest, Role.customer)
    assert (await chat.rest.get(f"{API}/media/{mine}/download", headers=stranger.bearer)).status_code == 404

    theirs = (await upload(chat.rest, chat.provider))["id"]
    unconfirmed = (await start(chat.rest, chat.customer, "image/jpeg", len(JPEG))).json()["media"]["id"]
    for media_id in (theirs, unconfirmed, "0" * 24, "media/../secrets"):
        refused = await alice.emit(
            "message:send", {**send(chat.conversation_id, "sneaky"), "attachments": [media_id]}
        )
        assert refused["ok"] is False and refused["error"]["code"] == "invalid_payload", media_id


async def test_a_block_withdraws_typing_and_presence_and_an_unblock_shows_presence_again(chat: Chat) -> None:
    alice = await chat.connect(chat.customer)
    bob = await chat.connect(chat.provider)
    assert await bob.inbox.expect("presence:update", skip=frozenset()) == {
        "userId": chat.customer.id,
        "online": True,
    }
    assert (await alice.emit("typing", {"conversationId": chat.conversation_id, "isTyping": True}))["ok"]
    assert (await bob.inbox.expect("typing:update"))["isTyping"] is True
    blocked = await chat.rest.put(
        f"{API}/conversations/{chat.conversation_id}/block", headers=chat.provider.bearer
    )
    assert blocked.status_code == 200
    # Bob no longer sees Alice typing nor online; Alice no longer sees Bob online.
    assert await bob.inbox.expect("typing:update") == {
        "conversationId": chat.conversation_id,
        "userId": chat.customer.id,
        "isTyping": False,
    }
    assert await bob.inbox.expect("presence:update", skip=frozenset()) == {
        "userId": chat.customer.id,
        "online": False,
    }
    offline = {"userId": chat.provider.id, "online": False}
    while (seen := await alice.inbox.expect("presence:update", skip=frozenset({"typing:update"}))) != offline:
        assert seen == {"userId": chat.provider.id, "online": True}, seen  # from before the block
    unblocked = await chat.rest.delete(
        f"{API}/conversations/{chat.conversation_id}/block", headers=chat.provider.bearer
    )
    assert unblocked.status_code == 200
    assert await bob.inbox.expect("presence:update", skip=frozenset()) == {
        "userId": chat.customer.id,
        "online": True,
    }
    assert await alice.inbox.expect("presence:update", skip=frozenset({"typing:update"})) == {
        "userId": chat.provider.id,
        "online": True,
    }


async def test_a_typing_stop_is_never_rate_limited(chat: Chat) -> None:
    """A stop withdraws what the counterpart sees: refusing it would leave them seeing "typing"."""
    phone = await chat.connect(chat.customer)
    laptop = await chat.connect(chat.customer, join=False)
    bob = await chat.connect(chat.provider)
    assert (await phone.emit("typing", {"conversationId": chat.conversation_id, "isTyping": True}))["ok"]
    assert (await bob.inbox.expect("typing:update"))["isTyping"] is True
    starts = [("typing", {"conversationId": chat.conversation_id, "isTyping": True})] * 25
    codes = [a["ok"] or a["error"]["code"] for a in await laptop.emit_all(starts)]  # type: ignore[union-attr]
    assert "rate_limited" in codes  # the user's typing limit is spent
    stop = await phone.emit("typing", {"conversationId": chat.conversation_id, "isTyping": False})
    assert stop == {"ok": True}
    await phone.close()
    await laptop.emit("typing", {"conversationId": chat.conversation_id, "isTyping": False})
    while (update := await bob.inbox.expect("typing:update"))["isTyping"]:
        pass  # the laptop's accepted starts
    assert update == {"conversationId": chat.conversation_id, "userId": chat.customer.id, "isTyping": False}


async def test_a_typing_sent_after_a_message_arrives_after_it(chat: Chat) -> None:
    alice = await chat.connect(chat.customer)
    bob = await chat.connect(chat.provider)
    assert isinstance(alice, JsClient)
    for i in range(5):
        acks = await alice.emit_all(
            [
                ("message:send", send(chat.conversation_id, f"m{i}")),
                ("typing", {"conversationId": chat.conversation_id, "isTyping": i % 2 == 0}),
            ]
        )
        assert all(a["ok"] for a in acks), acks
        assert (await bob.inbox.expect("message:new"))["body"] == f"m{i}"
        assert (await bob.inbox.expect("typing:update"))["isTyping"] is (i % 2 == 0)


async def test_pushed_notifications_carry_the_stored_timestamps(chat: Chat) -> None:
    alice = await chat.connect(chat.customer)
    bob = await chat.connect(chat.provider, join=False)  # connected elsewhere: the message is pushed
    assert (await alice.emit("message:send", send(chat.conversation_id, "ping")))["ok"]
    pushed = await bob.inbox.expect("notification:new", skip=frozenset({"presence:update", "message:new"}))
    listed = (await chat.rest.get(f"{API}/notifications", headers=chat.provider.bearer)).json()["items"]
    [stored] = [n for n in listed if n["id"] == pushed["id"]]
    assert (pushed["createdAt"], pushed["updatedAt"]) == (stored["created_at"], stored["updated_at"])


async def test_reads_and_joins_are_rate_limited_together(chat: Chat) -> None:
    alice = await chat.connect(chat.customer, join=False)
    assert isinstance(alice, JsClient)
    reads = [
        ("message:read", {"conversationId": chat.conversation_id, "messageId": "6650f0c2a1b2c3d4e5f60718"})
    ]
    joins = [("conversation:join", {"conversationId": chat.conversation_id})]
    acks = await alice.emit_all(reads * 100 + joins * 60)
    codes = [a["ok"] or a["error"]["code"] for a in acks]
    assert codes[:100] == ["not_found"] * 100 and codes[100:120] == [True] * 20
    # 120 in 10 s (CHAT_EVENT_RATE), reads and joins together; a few more if the burst straddles two of
    # the sliding window counter's windows, never fewer
    assert codes[120:].count("rate_limited") >= 10, codes[120:]


async def test_the_internal_api_refuses_an_oversized_body(live_stack: LiveStack) -> None:
    huge = {"queries": [{"userId": "a" * 24, "conversationId": "b" * 2_000_000}]}
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            f"{live_stack.chat_url}/internal/presence",
            json=huge,
            headers={"X-Internal-Token": TEST_INTERNAL_TOKEN},
        )
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"


async def test_a_resend_of_a_message_stored_before_a_crash_is_notified_once(
    chat: Chat, live_stack: LiveStack, db: None
) -> None:
    """The chat server stored a message and died before notifying and acking it: the app resends (no ack
    came), gets the stored message back, and the offline recipient is notified then; a second resend adds
    nothing."""
    conversation = await Conversation.get(chat.conversation_id)
    assert conversation is not None
    stored = Outgoing(
        Members.of(conversation),
        chat.customer.id,
        "did it arrive?",
        [],
        "before-crash",
        datetime.now(UTC),
        seq=1,
    )
    assert [w.created for w in await insert_messages([stored])] == [True]
    assert await Notification.find({"recipient_id": chat.provider.id}).to_list() == []
    alice = await chat.connect(chat.customer)
    for _ in range(2):
        ack = await alice.emit("message:send", send(chat.conversation_id, "did it arrive?", "before-crash"))
        assert ack["ok"] and ack["duplicate"] is True and ack["message"]["id"] == str(stored.id)
    [notified] = await Notification.find({"recipient_id": chat.provider.id}).to_list()
    assert notified.type == "new_message" and notified.occurrences == 1 and notified.body == "did it arrive?"


async def test_a_resend_after_the_notification_was_read_notifies_nothing_and_keeps_the_stored_text(
    chat: Chat, live_stack: LiveStack, db: None
) -> None:
    """A resend is the same message whatever it carries: after the recipient read everything, resending it
    (here with another text, as a buggy app might) stores nothing, notifies nothing, and the text anyone
    sees is the one stored first."""
    alice = await chat.connect(chat.customer)
    first = await alice.emit("message:send", send(chat.conversation_id, "the original", "resent-later"))
    assert first["ok"] and first["duplicate"] is False, first
    async with httpx.AsyncClient(base_url=live_stack.platform_url, timeout=10) as rest:
        read = await rest.post(f"{API}/notifications/read-all", headers=chat.provider.bearer)
        assert read.status_code == 200, read.text
        again = await alice.emit("message:send", send(chat.conversation_id, "another text", "resent-later"))
        assert again["ok"] and again["duplicate"] is True and again["message"] == first["message"]
        listed = await rest.get(f"{API}/notifications", headers=chat.provider.bearer)
    assert [(n["count"], n["body"], n["read"]) for n in listed.json()["items"]] == [(1, "the original", True)]
    [stored] = await Notification.find({"recipient_id": chat.provider.id}).to_list()
    assert stored.occurrences == 1 and stored.body == "the original"


async def test_leaving_right_after_a_message_ends_typing_after_it(chat: Chat) -> None:
    alice = await chat.connect(chat.customer)
    bob = await chat.connect(chat.provider)
    assert isinstance(alice, JsClient)
    acks = await alice.emit_all(
        [
            ("typing", {"conversationId": chat.conversation_id, "isTyping": True}),
            ("message:send", send(chat.conversation_id, "bye")),
            ("conversation:leave", {"conversationId": chat.conversation_id}),
        ]
    )
    assert all(a["ok"] for a in acks), acks
    assert (await bob.inbox.expect("typing:update"))["isTyping"] is True
    assert (await bob.inbox.expect("message:new"))["body"] == "bye"
    assert (await bob.inbox.expect("typing:update"))["isTyping"] is False


async def test_the_internal_api_answers_odd_requests_with_typed_refusals(live_stack: LiveStack) -> None:
    url = f"{live_stack.chat_url}/internal/presence"
    async with httpx.AsyncClient(timeout=10) as client:
        odd_token = await client.post(url, json={"queries": []}, headers={"X-Internal-Token": b"\xe9\xe9"})
        assert odd_token.status_code == 401 and odd_token.json()["error"]["code"] == "not_authenticated"
        deep = await client.post(
            url,
            content="[" * 100_000 + "]" * 100_000,
            headers={"X-Internal-Token": TEST_INTERNAL_TOKEN, "Content-Type": "application/json"},
        )
        assert deep.status_code == 422 and deep.json()["error"]["code"] == "invalid_payload"
