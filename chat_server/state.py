"""Shared real-time state: who is online (any device) and who is looking at which conversation.

In memory for one process; in Redis when REDIS_URL is set, so every chat-server instance sees the same truth.
"""

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Protocol

from redis.asyncio import Redis

DELIVERY_MEMORY_SECONDS = 24 * 3600


class StateStore(Protocol):
    async def add_socket(self, user_id: str, sid: str, jti: str) -> bool:
        """Record a connected socket (of login session `jti`); True if the user just came online."""

    async def remove_socket(self, user_id: str, sid: str, jti: str) -> bool:
        """Forget a socket; True if that was the user's last one (now offline)."""

    async def is_online(self, user_id: str) -> bool: ...

    async def sockets_of_user(self, user_id: str) -> list[str]:
        """Socket ids on every instance, so a disconnect reaches them wherever they are."""

    async def sockets_of_session(self, jti: str) -> list[str]: ...

    async def engage(self, conversation_id: str, user_id: str, sid: str) -> None: ...

    async def disengage(self, conversation_id: str, user_id: str, sid: str) -> None: ...

    async def disengage_socket(self, user_id: str, sid: str) -> None: ...

    async def is_engaged(self, conversation_id: str, user_id: str) -> bool: ...

    async def first_delivery(self, delivery_id: str) -> bool:
        """True once per id (for a day): a notification pushed twice by a retrying relay shows once."""
        ...

    async def heartbeat(self) -> None:
        """Keep this instance's sockets alive in the shared state (a dead instance's expire)."""

    async def check(self) -> None:
        """Readiness: raise unless the shared state answers."""

    async def close(self) -> None: ...


class MemoryState:
    def __init__(self) -> None:
        self.sockets: dict[str, set[str]] = defaultdict(set)
        self.engaged: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.by_socket: dict[str, set[str]] = defaultdict(set)
        self.by_session: dict[str, set[str]] = defaultdict(set)
        self.delivered: dict[str, float] = {}

    async def add_socket(self, user_id: str, sid: str, jti: str) -> bool:
        first = not self.sockets[user_id]
        self.sockets[user_id].add(sid)
        self.by_session[jti].add(sid)
        return first

    async def remove_socket(self, user_id: str, sid: str, jti: str) -> bool:
        self.by_session[jti].discard(sid)
        if not self.by_session[jti]:
            del self.by_session[jti]
        self.sockets[user_id].discard(sid)
        if self.sockets[user_id]:
            return False
        del self.sockets[user_id]
        return True

    async def is_online(self, user_id: str) -> bool:
        return bool(self.sockets.get(user_id))

    async def sockets_of_user(self, user_id: str) -> list[str]:
        return sorted(self.sockets.get(user_id, ()))

    async def sockets_of_session(self, jti: str) -> list[str]:
        return sorted(self.by_session.get(jti, ()))

    async def engage(self, conversation_id: str, user_id: str, sid: str) -> None:
        self.engaged[(conversation_id, user_id)].add(sid)
        self.by_socket[sid].add(conversation_id)

    async def disengage(self, conversation_id: str, user_id: str, sid: str) -> None:
        self.engaged[(conversation_id, user_id)].discard(sid)
        self.by_socket[sid].discard(conversation_id)

    async def disengage_socket(self, user_id: str, sid: str) -> None:
        for conversation_id in self.by_socket.pop(sid, set()):
            self.engaged[(conversation_id, user_id)].discard(sid)

    async def is_engaged(self, conversation_id: str, user_id: str) -> bool:
        return bool(self.engaged.get((conversation_id, user_id)))

    async def first_delivery(self, delivery_id: str) -> bool:
        now = time.monotonic()
        if len(self.delivered) > 100_000:  # forget what is older than a day
            self.delivered = {k: t for k, t in self.delivered.items() if now - t < DELIVERY_MEMORY_SECONDS}
        if delivery_id in self.delivered:
            return False
        self.delivered[delivery_id] = now
        return True

    async def heartbeat(self) -> None:
        return None  # one process: its state dies with it

    async def check(self) -> None:
        return None

    async def close(self) -> None:
        return None


@dataclass
class LocalSocket:
    user_id: str
    jti: str
    conversations: set[str] = field(default_factory=set)


class RedisState:
    """Sorted sets of socket ids scored by expiry, per user, per login session and per (conversation, user).

    Each instance refreshes the expiry of its own sockets (`heartbeat`); readers ignore expired entries, so
    the sockets of an instance that died without a word (SIGKILL, OOM) stop counting within `ttl` seconds:
    no user stays online, and nobody stays "engaged" (and so unnotified), forever.
    """

    def __init__(self, url: str, prefix: str = "chat", ttl: float = 60.0) -> None:
        self.redis: Redis = Redis.from_url(url, decode_responses=True)
        self.prefix = prefix
        self.ttl = ttl
        self.local: dict[str, LocalSocket] = {}

    def _online(self, user_id: str) -> str:
        return f"{self.prefix}:online:{user_id}"

    def _session(self, jti: str) -> str:
        return f"{self.prefix}:session:{jti}"

    def _engaged(self, conversation_id: str, user_id: str) -> str:
        return f"{self.prefix}:engaged:{conversation_id}:{user_id}"

    async def _atomically(self, *commands: tuple[Any, ...]) -> list[Any]:
        """Run commands (NAME, key, args...) in one MULTI/EXEC and return their replies."""
        async with self.redis.pipeline(transaction=True) as pipe:
            for name, *args in commands:
                pipe.execute_command(name, *args)
            return list(await pipe.execute())

    def _keep(self, key: str, sid: str, now: float) -> list[tuple[Any, ...]]:
        """Commands that (re)add `sid` to `key` until now + ttl and keep the key itself alive."""
        return [("ZADD", key, now + self.ttl, sid), ("EXPIRE", key, int(self.ttl * 2) + 1)]

    async def _live(self, key: str) -> list[str]:
        (members,) = await self._atomically(("ZRANGEBYSCORE", key, time.time(), "+inf"))
        return sorted(str(m) for m in members)

    async def add_socket(self, user_id: str, sid: str, jti: str) -> bool:
        now, online = time.time(), self._online(user_id)
        self.local[sid] = LocalSocket(user_id, jti)
        replies = await self._atomically(
            ("ZREMRANGEBYSCORE", online, "-inf", now),
            *self._keep(online, sid, now),
            ("ZCARD", online),
            *self._keep(self._session(jti), sid, now),
        )
        added, count = replies[1], replies[3]
        return bool(added) and count == 1

    async def remove_socket(self, user_id: str, sid: str, jti: str) -> bool:
        now, online = time.time(), self._online(user_id)
        self.local.pop(sid, None)
        removed, _, count, _ = await self._atomically(
            ("ZREM", online, sid),
            ("ZREMRANGEBYSCORE", online, "-inf", now),
            ("ZCARD", online),
            ("ZREM", self._session(jti), sid),
        )
        return bool(removed) and count == 0

    async def is_online(self, user_id: str) -> bool:
        return bool(await self._live(self._online(user_id)))

    async def sockets_of_user(self, user_id: str) -> list[str]:
        return await self._live(self._online(user_id))

    async def sockets_of_session(self, jti: str) -> list[str]:
        return await self._live(self._session(jti))

    async def engage(self, conversation_id: str, user_id: str, sid: str) -> None:
        if sid in self.local:
            self.local[sid].conversations.add(conversation_id)
        await self._atomically(*self._keep(self._engaged(conversation_id, user_id), sid, time.time()))

    async def disengage(self, conversation_id: str, user_id: str, sid: str) -> None:
        if sid in self.local:
            self.local[sid].conversations.discard(conversation_id)
        await self._atomically(("ZREM", self._engaged(conversation_id, user_id), sid))

    async def disengage_socket(self, user_id: str, sid: str) -> None:
        socket = self.local.get(sid)
        if socket is not None and socket.conversations:
            await self._atomically(*(("ZREM", self._engaged(c, user_id), sid) for c in socket.conversations))
            socket.conversations.clear()

    async def is_engaged(self, conversation_id: str, user_id: str) -> bool:
        return bool(await self._live(self._engaged(conversation_id, user_id)))

    async def first_delivery(self, delivery_id: str) -> bool:
        key = f"{self.prefix}:delivered:{delivery_id}"
        return bool(await self.redis.set(key, "1", nx=True, ex=DELIVERY_MEMORY_SECONDS))

    async def heartbeat(self) -> None:
        now = time.time()
        commands: list[tuple[Any, ...]] = []
        for sid, socket in list(self.local.items()):
            commands += self._keep(self._online(socket.user_id), sid, now)
            commands += self._keep(self._session(socket.jti), sid, now)
            for conversation_id in socket.conversations:
                commands += self._keep(self._engaged(conversation_id, socket.user_id), sid, now)
        if commands:
            await self._atomically(*commands)

    async def check(self) -> None:
        await self.redis.ping()

    async def close(self) -> None:
        await self.redis.aclose()
