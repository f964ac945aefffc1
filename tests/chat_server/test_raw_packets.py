"""What no official client sends, sent over a raw websocket: reserved and malformed event names get their
typed ack and never reach a handler (a spoofed `disconnect` must not withdraw presence; a spoofed `connect`
must not change who the socket is)."""

import asyncio
import json
from typing import Any
from urllib.parse import urlparse

import pytest
import websockets

from tests.chat_server.clients import JsClient
from tests.chat_server.test_chat import new_pair, send
from tests.conftest import LiveStack

pytestmark = pytest.mark.e2e


class RawSocket:
    """Engine.IO 4 / Socket.IO 5 packets by hand: '4' message + '2' event / '3' ack, with an ack id."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.events: list[Any] = []

    @classmethod
    async def connect(cls, url: str, token: str) -> "RawSocket":
        host = urlparse(url).netloc
        ws = await websockets.connect(f"ws://{host}/socket.io/?EIO=4&transport=websocket")
        raw = cls(ws)
        assert str(await ws.recv()).startswith("0")  # Engine.IO open
        await ws.send("40" + json.dumps({"token": token}))
        assert (await raw.next_packet()).startswith("40{")  # Socket.IO connected
        return raw

    async def next_packet(self) -> str:
        while True:
            message = str(await self.ws.recv())
            if message == "2":  # Engine.IO ping
                await self.ws.send("3")
                continue
            if message.startswith("42"):  # an event for us: kept, not what we wait for
                self.events.append(json.loads(message[2:]))
                continue
            return message

    async def call(self, ack_id: int, body: str) -> Any:
        """Send `42<ack_id><body>` and return the data of ack `<ack_id>`."""
        await self.ws.send(f"42{ack_id}{body}")
        while True:
            message = await self.next_packet()
            prefix = f"43{ack_id}"
            if message.startswith(prefix) and message[len(prefix)] == "[":
                return json.loads(message[len(prefix) :])

    async def closed_by_server(self) -> bool:
        """Read until the server closes the websocket itself (Engine.IO's close packet alone is not enough:
        the official client ignores it on a websocket and would wait for a ping timeout)."""
        try:
            async with asyncio.timeout(10):
                while True:
                    await self.next_packet()
        except websockets.ConnectionClosed:
            return True

    async def close(self) -> None:
        await self.ws.close()


async def test_reserved_and_malformed_event_names_are_refused_and_change_nothing(
    live_stack: LiveStack,
) -> None:
    customer, provider, conversation_id = await new_pair(live_stack.platform_url)
    intruder, _, _ = await new_pair(live_stack.platform_url)
    watcher = JsClient()
    assert (await watcher.connect(live_stack.chat_url, provider.token))["type"] == "connect"
    raw = await RawSocket.connect(live_stack.chat_url, customer.token)
    try:
        assert await watcher.inbox.expect("presence:update") == {"userId": customer.id, "online": True}
        cases = [
            ('["disconnect"]', "unknown_event"),
            ('["disconnect", "client namespace disconnect"]', "unknown_event"),
            (f'["connect", {{}}, {{"token": "{intruder.token}"}}]', "unknown_event"),
            ('["connect_error", {}]', "unknown_event"),
            ('["*"]', "unknown_event"),
            ('["*", {"a": 1}]', "unknown_event"),
            ('[{"a": 1}]', "invalid_payload"),
            ('[["typing"]]', "invalid_payload"),
            ("[]", "invalid_payload"),
            ("[42]", "invalid_payload"),
        ]
        for ack_id, (body, code) in enumerate(cases, start=1):
            [answer] = await raw.call(ack_id, body)
            assert answer["ok"] is False and answer["error"]["code"] == code, (body, answer)
        # Still connected, still the customer, never announced offline: the next thing the provider hears
        # is the customer's message, as the customer.
        [ack] = await raw.call(99, json.dumps(["message:send", send(conversation_id, "still me")]))
        assert ack["ok"] is True and ack["message"]["senderId"] == customer.id
        message = await watcher.inbox.expect("message:new", skip=frozenset({"notification:new"}))
        assert message["body"] == "still me" and message["senderId"] == customer.id
    finally:
        await raw.close()
        await watcher.close()
    log = live_stack.chat.log_path
    assert log is not None and "Traceback" not in log.read_text()


DEEP = 1_200  # levels of nesting: past Python's recursion limit, far under the 1 MB frame limit
UNDECODABLE = {
    # A binary event whose placeholder points past its attachments: python-socketio would keep reading
    # every later frame of the socket as an attachment.
    "placeholder past the attachments": ['451-["typing",{"_placeholder":true,"num":5}]', b"\x01\x02"],
    # JSON nested deeper than the decoder recurses.
    "nested too deep": ['421["message:send",' + "[" * DEEP + "]" * DEEP + "]"],
}


@pytest.mark.parametrize("frames", UNDECODABLE.values(), ids=UNDECODABLE.keys())
async def test_an_undecodable_packet_closes_its_socket_and_nothing_else(
    live_stack: LiveStack, frames: list[str | bytes]
) -> None:
    """The socket is closed at the transport (the client reconnects); every other socket goes on."""
    customer, provider, conversation_id = await new_pair(live_stack.platform_url)
    raw = await RawSocket.connect(live_stack.chat_url, customer.token)
    bystander = await RawSocket.connect(live_stack.chat_url, provider.token)
    try:
        for frame in frames:
            await raw.ws.send(frame)
        assert await raw.closed_by_server()
        [ack] = await bystander.call(1, json.dumps(["message:send", send(conversation_id, "unaffected")]))
        assert ack["ok"] is True
    finally:
        await raw.close()
        await bystander.close()
    log = live_stack.chat.log_path
    assert log is not None and "Traceback" not in log.read_text()
