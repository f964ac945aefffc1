"""The real-time guarantees of PROTOCOL.md ("Order", "Acks"), end to end over real processes with the official
JS client: per-socket and per-conversation order, one ack per event, forward-only receipts, typing withdrawn
when its socket goes, and socket timestamps equal to the stored ones."""

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from chat_server.protocol import ACK_ERRORS, CLIENT_EVENTS
from shared_models.enums import Role
from tests.chat_server.clients import Inbox, JsClient
from tests.chat_server.test_chat import new_account, open_conversation, send
from tests.conftest import CHAT_MESSAGE_LIMIT, LiveStack
from tests.factories import API, Account

pytestmark = pytest.mark.e2e
BURST = 40  # one socket's offline queue flushed at once
RACE = 15  # per socket, three sockets at once
UNKNOWN_EVENTS = ("message:delete", "hello")
MADE_UP_ID = "6650f0c2a1b2c3d4e5f60718"
assert BURST < CHAT_MESSAGE_LIMIT and 2 * RACE < CHAT_MESSAGE_LIMIT


@dataclass
class Room:
    """One conversation between two accounts, and the sockets a test opened on it."""

    rest: httpx.AsyncClient
    url: str
    customer: Account
    provider: Account
    conversation_id: str
    clients: list[JsClient] = field(default_factory=list)

    async def device(self, account: Account, join: bool = True) -> JsClient:
        client = JsClient()
        self.clients.append(client)
        status = await client.connect(self.url, account.token)
        assert status["type"] == "connect", status
        if join:
            ack = await client.emit("conversation:join", {"conversationId": self.conversation_id})
            assert ack == {"ok": True, "conversationId": self.conversation_id}
        return client

    async def stored(self, account: Account) -> list[dict[str, Any]]:
        """REST history in stored order (the API lists it newest first)."""
        response = await self.rest.get(
            f"{API}/conversations/{self.conversation_id}/messages",
            params={"limit": 100},
            headers=account.bearer,
        )
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["next_cursor"] is None
        return list(reversed(page["items"]))


NewRoom = Callable[..., Awaitable[Room]]


@pytest.fixture
async def new_room(live_stack: LiveStack) -> AsyncIterator[NewRoom]:
    """Rooms on fresh accounts (the rate limits count per user); pass `customer` to give one user a second
    conversation."""
    rooms: list[Room] = []
    async with httpx.AsyncClient(base_url=live_stack.platform_url, timeout=20) as rest:

        async def make(customer: Account | None = None) -> Room:
            customer = customer or await new_account(rest, Role.customer)
            provider = await new_account(rest, Role.provider)
            conversation_id = await open_conversation(rest, customer, provider)
            rooms.append(Room(rest, live_stack.chat_url, customer, provider, conversation_id))
            return rooms[-1]

        yield make
        for room in rooms:
            for client in room.clients:
                await client.close()


def oks(acks: Sequence[Any]) -> list[dict[str, Any]]:
    """The messages of `message:send` acks, all of which must be ok."""
    refused = [
        (i, ack) for i, ack in enumerate(acks) if not (isinstance(ack, dict) and ack.get("ok") is True)
    ]
    assert not refused, refused
    return [ack["message"] for ack in acks]


def increasing(seqs: Sequence[int]) -> bool:
    return all(a < b for a, b in itertools.pairwise(seqs))


def millisecond(text: str) -> bool:
    moment = datetime.fromisoformat(text)
    return moment.utcoffset() == timedelta(0) and moment.microsecond % 1000 == 0


async def collect(inbox: Inbox, event: str, count: int) -> list[dict[str, Any]]:
    """The next `count` events, each of which must be `event` (presence and notifications aside)."""
    return [await inbox.expect(event) for _ in range(count)]


async def next_except(inbox: Inbox, event: str, tolerated: Callable[[str, Any], bool]) -> Any:
    """The next `event`; everything arriving before it must be `tolerated` (this proves an absence)."""
    while True:
        name, data = await inbox.next()
        if name == event:
            return data
        assert tolerated(name, data), f"{name} {data} arrived before {event}"


async def test_one_sockets_burst_is_acked_stored_and_delivered_in_emit_order(new_room: NewRoom) -> None:
    # Repeated: when each event was its own task, some runs kept the order by luck.
    for run in range(3):
        room = await new_room()
        # No join first: the burst meets a conversation the server has not looked up yet (as an offline
        # queue flushed on reconnecting to a fresh instance does), where events taken as independent tasks
        # overtake each other while they wait for the database.
        sender = await room.device(room.customer, join=False)
        receiver = await room.device(room.provider, join=False)  # the counterpart's socket
        payloads = [send(room.conversation_id, f"run {run} message {i}") for i in range(BURST)]
        client_ids = [p["clientId"] for p in payloads]

        sent = oks(await sender.emit_all([("message:send", p) for p in payloads]))
        assert [m["clientId"] for m in sent] == client_ids
        seqs = [m["seq"] for m in sent]
        assert increasing(seqs), seqs

        stored = await room.stored(room.provider)  # acked, so already stored
        assert [m["client_id"] for m in stored] == client_ids
        assert [m["seq"] for m in stored] == seqs

        received = await collect(receiver.inbox, "message:new", BURST)
        assert [m["clientId"] for m in received] == client_ids
        assert [m["seq"] for m in received] == seqs


async def test_three_sockets_racing_in_one_conversation_all_see_the_stored_order(new_room: NewRoom) -> None:
    room = await new_room()
    sockets = {  # not joined first, as in the burst test: the first events meet an unread conversation
        "phone": await room.device(room.customer, join=False),
        "laptop": await room.device(room.customer, join=False),
        "provider": await room.device(room.provider, join=False),
    }
    bursts = {
        name: [("message:send", send(room.conversation_id, f"{name} {i}")) for i in range(RACE)]
        for name in sockets
    }
    acked = await asyncio.gather(*(client.emit_all(bursts[name]) for name, client in sockets.items()))
    own = {name: oks(acks) for name, acks in zip(sockets, acked, strict=True)}

    stored = await room.stored(room.customer)
    assert len(stored) == 3 * RACE
    assert increasing([m["seq"] for m in stored])
    order = [m["id"] for m in stored]
    seq_of = {m["id"]: m["seq"] for m in stored}
    for name, client in sockets.items():
        received = await collect(client.inbox, "message:new", 2 * RACE)  # the other two sockets' bursts
        seen = [m["id"] for m in received]
        mine = [m["id"] for m in own[name]]
        assert increasing([m["seq"] for m in received]), (name, [m["seq"] for m in received])
        assert len(set(seen)) == len(seen), (name, "delivered twice")
        assert sorted(seen + mine) == sorted(order), (name, "missing or foreign messages")
        assert seen == [i for i in order if i in set(seen)], (name, "received out of the stored order")
        assert mine == [i for i in order if i in set(mine)], (name, "own burst stored out of emit order")
        assert all(seq_of[m["id"]] == m["seq"] for m in received + own[name]), (
            name,
            "seq not the stored one",
        )
        assert {m["clientId"] for m in own[name]} == {p["clientId"] for _, p in bursts[name]}

    # Nothing more was on its way (no late duplicate): each socket's next message is a sentinel.
    (from_provider,) = oks([await sockets["provider"].emit("message:send", send(room.conversation_id, "p"))])
    (from_phone,) = oks([await sockets["phone"].emit("message:send", send(room.conversation_id, "c"))])
    assert (await sockets["phone"].inbox.expect("message:new"))["id"] == from_provider["id"]
    assert [(await sockets["laptop"].inbox.expect("message:new"))["id"] for _ in range(2)] == [
        from_provider["id"],
        from_phone["id"],
    ]
    assert (await sockets["provider"].inbox.expect("message:new"))["id"] == from_phone["id"]


JUNK: list[Any] = [None, 42, "text", [1, "two"], {}]


async def test_every_client_event_gets_exactly_one_well_formed_ack(
    new_room: NewRoom, live_stack: LiveStack
) -> None:
    log = live_stack.chat.log_path
    assert log is not None
    logged_before = log.stat().st_size
    room = await new_room()
    client = await room.device(room.customer, join=False)
    first = oks([await client.emit("message:send", send(room.conversation_id, "to be read"))])[0]
    conversation_id = room.conversation_id

    def valid(event: str, conversation: str = conversation_id) -> dict[str, Any]:
        return {
            "conversation:join": {"conversationId": conversation},
            "conversation:leave": {"conversationId": conversation},
            "message:send": send(conversation, f"valid {event}"),
            "message:read": {"conversationId": conversation, "messageId": first["id"]},
            "typing": {"conversationId": conversation, "isTyping": True},
        }.get(event, {"conversationId": conversation})

    cases: list[tuple[str, list[Any], str]] = []  # (event, arguments, the expected "ok" or error code)
    for event in [*CLIENT_EVENTS, *UNKNOWN_EVENTS]:
        known = event in CLIENT_EVENTS
        arity: list[list[Any]] = [
            [],
            [valid(event), valid(event)],
            [None, valid(event)],
            [{}, "text"],
            [valid(event), valid(event), valid(event)],
            [1, "two", None],
        ]
        for args in arity:
            cases.append((event, args, "invalid_payload" if known else "unknown_event"))
        for junk in JUNK:
            cases.append((event, [junk], "invalid_payload" if known else "unknown_event"))
        foreign = "ok" if event == "conversation:leave" else "not_found"  # leaving any room is harmless
        cases.append((event, [valid(event)], "ok" if known else "unknown_event"))
        cases.append((event, [valid(event, MADE_UP_ID)], foreign if known else "unknown_event"))

    acks = await client.emit_raw_all([(event, args) for event, args, _ in cases])
    answered = []
    for (event, args, _), ack in zip(cases, acks, strict=True):
        assert isinstance(ack, dict) and "timeout" not in ack, (event, args, ack)
        if ack.get("ok") is True:
            answered.append("ok")
        else:
            assert ack.keys() == {"ok", "error"} and ack["ok"] is False, (event, args, ack)
            assert ack["error"].keys() == {"code", "message"}, (event, args, ack)
            assert ack["error"]["code"] in ACK_ERRORS and ack["error"]["message"], (event, args, ack)
            answered.append(ack["error"]["code"])
    mismatches = [
        (event, args, expected, ack)
        for (event, args, expected), got, ack in zip(cases, answered, acks, strict=True)
        if got != expected
    ]
    assert not mismatches, mismatches

    answers = {event: acks[i] for i, (event, args, _) in enumerate(cases) if args == [valid(event)]}
    for event in ("conversation:join", "conversation:leave"):
        assert answers[event] == {"ok": True, "conversationId": conversation_id}
    assert answers["message:read"] == {"ok": True, "upToMessageId": first["id"], "upToSeq": first["seq"]}
    assert answers["typing"] == {"ok": True}

    # Exactly one: no ack id was answered twice (the client library would drop a second one silently). The
    # sentinel's ack comes after the socket's earlier events were all handled.
    assert (await client.emit("conversation:join", {"conversationId": conversation_id}))["ok"] is True
    counts = await client.ack_packets()
    assert sorted(counts) == list(range(len(cases) + 2)), "an event without its ack"
    assert {i: n for i, n in counts.items() if n != 1} == {}, "acked more than once"
    with log.open() as lines:
        lines.seek(logged_before)
        logged = lines.read()
    assert "Traceback" not in logged and "event_failed" not in logged, logged


async def test_reading_an_older_message_keeps_the_marker_and_sends_no_receipt(new_room: NewRoom) -> None:
    room = await new_room()
    customer = await room.device(room.customer)
    provider = await room.device(room.provider)
    m1, m2, m3 = oks(
        [await customer.emit("message:send", send(room.conversation_id, f"m{i}")) for i in (1, 2, 3)]
    )
    await collect(provider.inbox, "message:new", 3)

    async def read(message: dict[str, Any]) -> Any:
        return await provider.emit(
            "message:read", {"conversationId": room.conversation_id, "messageId": message["id"]}
        )

    assert await read(m2) == {"ok": True, "upToMessageId": m2["id"], "upToSeq": m2["seq"]}
    receipt = await customer.inbox.expect("message:receipt")
    assert (receipt["readerId"], receipt["upToMessageId"], receipt["upToSeq"]) == (
        room.provider.id,
        m2["id"],
        m2["seq"],
    )
    assert await read(m1) == {"ok": True, "upToMessageId": m2["id"], "upToSeq": m2["seq"]}  # what is stored
    assert await read(m2) == {"ok": True, "upToMessageId": m2["id"], "upToSeq": m2["seq"]}  # not moved
    assert await read(m3) == {"ok": True, "upToMessageId": m3["id"], "upToSeq": m3["seq"]}
    # The customer's next receipt is m3's: none was sent for the two reads that did not move the marker.
    receipt = await customer.inbox.expect("message:receipt")
    assert (receipt["readerId"], receipt["upToMessageId"]) == (room.provider.id, m3["id"]), (
        "a receipt for a read that did not move the marker",
        {"m1": m1["id"], "m2": m2["id"], "m3": m3["id"]},
    )


def typing_update(room: Room, is_typing: bool) -> dict[str, Any]:
    return {"conversationId": room.conversation_id, "userId": room.customer.id, "isTyping": is_typing}


def typing(room: Room, is_typing: bool) -> dict[str, Any]:
    return {"conversationId": room.conversation_id, "isTyping": is_typing}


async def withdrawn(inbox: Inbox) -> list[tuple[str, Any]]:
    """The next two events besides notifications (what a vanished last device leaves behind), sorted."""
    events: list[tuple[str, Any]] = []
    while len(events) < 2:
        name, data = await inbox.next()
        if name != "notification:new":
            events.append((name, data))
    return sorted(events, key=lambda e: e[0])


async def test_typing_ends_when_the_typing_device_disconnects(new_room: NewRoom) -> None:
    room = await new_room()
    provider = await room.device(room.provider)
    device = await room.device(room.customer)
    assert await device.emit("typing", typing(room, True)) == {"ok": True}
    assert await provider.inbox.expect("typing:update") == typing_update(room, True)
    await device.close()
    assert await withdrawn(provider.inbox) == [
        ("presence:update", {"userId": room.customer.id, "online": False}),  # it was the last device
        ("typing:update", typing_update(room, False)),
    ]


async def test_typing_ends_only_when_no_device_types_any_more(new_room: NewRoom) -> None:
    room = await new_room()
    # The customer's second conversation: a visible sign that the server handled device 1's disconnect.
    elsewhere = await new_room(customer=room.customer)
    provider = await room.device(room.provider)
    other_provider = await elsewhere.device(elsewhere.provider)
    phone = await room.device(room.customer)
    laptop = await room.device(room.customer)
    assert await phone.emit("typing", typing(room, True)) == {"ok": True}
    assert await provider.inbox.expect("typing:update") == typing_update(room, True)
    assert await phone.emit("typing", typing(elsewhere, True)) == {"ok": True}
    assert await other_provider.inbox.expect("typing:update") == typing_update(elsewhere, True)
    assert await laptop.emit("typing", typing(room, True)) == {"ok": True}

    await phone.close()
    # Only the phone typed there: withdrawn; the conversation where the laptop types too is not.
    assert await other_provider.inbox.expect("typing:update") == typing_update(elsewhere, False)
    ack = await laptop.emit("message:send", send(room.conversation_id, "still typing here"))
    assert ack["ok"] is True
    message = await next_except(
        provider.inbox,
        "message:new",
        lambda name, data: (
            name == "notification:new" or (name, data) == ("typing:update", typing_update(room, True))
        ),
    )  # no `isTyping: false`, no offline presence first
    assert message["id"] == ack["message"]["id"]

    await laptop.close()
    assert await withdrawn(provider.inbox) == [
        ("presence:update", {"userId": room.customer.id, "online": False}),
        ("typing:update", typing_update(room, False)),
    ]


async def test_leaving_the_conversation_ends_typing_there(new_room: NewRoom) -> None:
    room = await new_room()
    provider = await room.device(room.provider)
    device = await room.device(room.customer)
    assert await device.emit("typing", typing(room, True)) == {"ok": True}
    assert await provider.inbox.expect("typing:update") == typing_update(room, True)
    left = await device.emit("conversation:leave", {"conversationId": room.conversation_id})
    assert left == {"ok": True, "conversationId": room.conversation_id}
    assert await provider.inbox.expect("typing:update") == typing_update(room, False)


async def test_socket_timestamps_are_the_stored_ones_in_milliseconds(new_room: NewRoom) -> None:
    room = await new_room()
    customer = await room.device(room.customer)
    provider = await room.device(room.provider)
    sent = oks([await customer.emit("message:send", send(room.conversation_id, f"t{i}")) for i in range(5)])
    received = await collect(provider.inbox, "message:new", len(sent))
    stored = await room.stored(room.provider)
    assert received == sent  # the ack carries the very `message:new` payload
    for new, row in zip(received, stored, strict=True):
        assert new["id"] == row["id"]
        assert new["createdAt"] == row["created_at"], (new, row)
        assert millisecond(row["created_at"]), row
    for message in sent[-3:]:
        ack = await provider.emit(
            "message:read", {"conversationId": room.conversation_id, "messageId": message["id"]}
        )
        assert ack == {"ok": True, "upToMessageId": message["id"], "upToSeq": message["seq"]}
        receipt = await customer.inbox.expect("message:receipt")
        assert receipt["upToMessageId"] == message["id"] and millisecond(receipt["readAt"]), receipt
