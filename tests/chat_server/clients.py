"""Chat clients with one async interface: the official JS client (node, scripted) and python-socketio's."""

import asyncio
import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import socketio

JS_DRIVER = Path(__file__).resolve().parent.parent / "js" / "driver.mjs"
WAIT = 10.0


class Inbox:
    """Server->client events in arrival order, awaited by name (no sleeps: each wait is for an event)."""

    def __init__(self) -> None:
        self.events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    def put(self, event: str, data: Any) -> None:
        self.events.put_nowait((event, data))

    async def next(self, within: float = WAIT) -> tuple[str, Any]:
        return await asyncio.wait_for(self.events.get(), within)

    async def expect(self, event: str, skip: frozenset[str] | None = None, within: float = WAIT) -> Any:
        """The next event, not counting those in `skip` (by default presence and notifications, which other
        tests assert on their own), must be `event`: anything else arriving first is a failure, so this
        proves ordering and absence too."""
        if skip is None:
            skip = frozenset({"presence:update", "notification:new"}) - {event}
        while True:
            name, data = await self.next(within)
            if name not in skip:
                assert name == event, f"expected {event}, got {name}: {data}"
                return data

    def empty(self) -> bool:
        return self.events.empty()


class JsClient:
    def __init__(self) -> None:
        self.inbox = Inbox()
        self.proc: asyncio.subprocess.Process | None = None
        self.acks: dict[int, asyncio.Future[Any]] = {}
        self.ids = itertools.count()
        self.status: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.reader: asyncio.Task[None] | None = None

    async def connect(self, url: str, token: str, reconnect_ms: int | None = None) -> dict[str, Any]:
        self.proc = await asyncio.create_subprocess_exec(
            "node", str(JS_DRIVER), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        self.reader = asyncio.create_task(self._read())
        await self._send({"op": "connect", "url": url, "token": token, "reconnect": reconnect_ms})
        return await asyncio.wait_for(self.status.get(), WAIT)

    async def next_status(self, within: float = WAIT) -> dict[str, Any]:
        """The next connect / disconnect / connect_error the client reports (e.g. after a server restart)."""
        return await asyncio.wait_for(self.status.get(), within)

    async def reconnected(self, within: float = 30) -> list[dict[str, Any]]:
        """Wait for the client's own reconnection; returns the failed attempts it made on the way."""
        failed: list[dict[str, Any]] = []
        async with asyncio.timeout(within):
            while (status := await self.status.get())["type"] != "connect":
                failed.append(status)
        return failed

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            msg = json.loads(line)
            if msg["type"] == "ack":
                self.acks.pop(msg["id"]).set_result(msg["data"])
            elif msg["type"] == "event":
                self.inbox.put(msg["event"], msg["data"])
            else:
                self.status.put_nowait(msg)

    async def _send(self, command: dict[str, Any]) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(command) + "\n").encode())
        await self.proc.stdin.drain()

    async def emit(self, event: str, data: Any) -> Any:
        return await self._emit({"op": "emit", "event": event, "data": data})

    async def emit_raw(self, event: str, *args: Any) -> Any:
        return await self._emit({"op": "emit_raw", "event": event, "args": list(args)})

    async def _emit(self, command: dict[str, Any]) -> Any:
        (ack,) = await self._emit_all([command])
        return ack

    async def emit_all(self, emits: Sequence[tuple[str, Any]]) -> list[Any]:
        """Emit every (event, payload) back to back, awaiting no ack in between (as an app flushing its
        offline queue does), then gather the acks: returned in emit order."""
        return await self._emit_all([{"op": "emit", "event": event, "data": data} for event, data in emits])

    async def emit_raw_all(self, emits: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """`emit_all` with any number of arguments per event (zero, one, several)."""
        return await self._emit_all(
            [{"op": "emit_raw", "event": event, "args": list(args)} for event, args in emits]
        )

    async def ack_packets(self) -> dict[int, int]:
        """How many ack packets the client received for each of its ack ids, counted below
        socket.io-client's own bookkeeping (which ignores a second ack for the same id)."""
        counts = await self._emit({"op": "ack_packets"})
        return {int(packet_id): count for packet_id, count in counts.items()}

    async def _emit_all(self, commands: Sequence[dict[str, Any]]) -> list[Any]:
        assert self.proc is not None and self.proc.stdin is not None
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[Any]] = []
        lines = []
        for command in commands:
            ack_id = next(self.ids)
            self.acks[ack_id] = future = loop.create_future()
            futures.append(future)
            lines.append(json.dumps({**command, "id": ack_id}) + "\n")
        self.proc.stdin.write("".join(lines).encode())
        await self.proc.stdin.drain()
        return list(await asyncio.wait_for(asyncio.gather(*futures), WAIT + 2))

    async def close(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            await self._send({"op": "close"})
            await asyncio.wait_for(self.proc.wait(), WAIT)
        if self.reader is not None:
            await self.reader


class PyClient:
    def __init__(self) -> None:
        self.inbox = Inbox()
        self.sio = socketio.AsyncClient(reconnection=False)
        self.sio.on("*", self._any)

    async def _any(self, event: str, data: Any = None) -> None:
        self.inbox.put(event, data)

    async def connect(self, url: str, token: str) -> dict[str, Any]:
        await self.sio.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=WAIT)
        return {"type": "connect"}

    async def emit(self, event: str, data: Any) -> Any:
        return await self.sio.call(event, data, timeout=WAIT)

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()
