"""python-socketio's Redis manager, plus a way to know that this instance's pub/sub listener receives again.

Every event for a socket (also one this instance emits itself) reaches the socket through the manager's
listener, subscribed to the Socket.IO channel. When Redis restarts, the listener resubscribes only after its
own backoff (1, 2, 4 … 60 s). Until then, messages are stored and acked but reach nobody live, and a client
that reloads over REST meanwhile misses them. So, after an outage, the instance makes sure its listener
receives (`listening`), restarting it if not (`restart_listener`), before it asks its clients to reconnect and
reload (`chat_server.app`, `presence.resync`).
"""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import socketio
from redis.asyncio import Redis
from redis.exceptions import RedisError

PROBE_METHOD = "chat.listening"  # not a method python-socketio acts on: its listener skips it
_MARK = PROBE_METHOD.encode()


class ChatRedisManager(socketio.AsyncRedisManager):  # type: ignore[misc]
    thread: "asyncio.Task[None]"  # the listener (python-socketio's)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._probes: dict[str, asyncio.Event] = {}

    async def _listen(self) -> AsyncIterator[Any]:
        async for message in super()._listen():
            if self._probes and isinstance(message, bytes) and _MARK in message:
                self._arrived(message)
            yield message

    def _arrived(self, message: bytes) -> None:
        try:
            probe = json.loads(message).get("probe")
        except ValueError:
            return
        event = self._probes.get(probe) if isinstance(probe, str) else None
        if event is not None:
            event.set()

    async def listening(self, publisher: Redis, within: float) -> bool:
        """Whether a message published now on the channel (through `publisher`) reaches this instance's
        listener within `within` seconds (a round trip through Redis; other instances' listeners ignore it).
        False too if the probe could not be published."""
        probe = uuid.uuid4().hex
        arrived = self._probes[probe] = asyncio.Event()
        try:
            await publisher.publish(self.channel, json.dumps({"method": PROBE_METHOD, "probe": probe}))
            async with asyncio.timeout(within):
                await arrived.wait()
            return True
        except (TimeoutError, RedisError):
            return False
        finally:
            del self._probes[probe]

    def restart_listener(self) -> None:
        """Start the listener afresh (it subscribes at once) instead of waiting out its backoff."""
        self.thread.cancel()
        self.thread = self.server.start_background_task(self._thread)
