"""Shared real-time state: who is online (any device) and who is looking at which conversation.

In memory for one process; in Redis when REDIS_URL is set, so every chat-server instance sees the same truth.
"""

from collections import defaultdict
from typing import Any, Protocol

from redis.asyncio import Redis


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

    async def close(self) -> None: ...


class MemoryState:
    def __init__(self) -> None:
        self.sockets: dict[str, set[str]] = defaultdict(set)
        self.engaged: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.by_socket: dict[str, set[str]] = defaultdict(set)
        self.by_session: dict[str, set[str]] = defaultdict(set)

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

    async def close(self) -> None:
        return None


class RedisState:
    """Sets of socket ids per user, per login session and per (conversation, user); MULTI keeps each step atomic."""

    def __init__(self, url: str, prefix: str = "chat") -> None:
        self.redis: Redis = Redis.from_url(url, decode_responses=True)
        self.prefix = prefix

    def _online(self, user_id: str) -> str:
        return f"{self.prefix}:online:{user_id}"

    def _session(self, jti: str) -> str:
        return f"{self.prefix}:session:{jti}"

    def _engaged(self, conversation_id: str, user_id: str) -> str:
        return f"{self.prefix}:engaged:{conversation_id}:{user_id}"

    def _socket(self, sid: str) -> str:
        return f"{self.prefix}:socket:{sid}"

    async def _atomically(self, *commands: tuple[str, ...]) -> list[Any]:
        """Run commands (NAME, key, args...) in one MULTI/EXEC and return their replies."""
        async with self.redis.pipeline(transaction=True) as pipe:
            for name, *args in commands:
                pipe.execute_command(name, *args)
            return list(await pipe.execute())

    async def add_socket(self, user_id: str, sid: str, jti: str) -> bool:
        online = self._online(user_id)
        added, count, _ = await self._atomically(
            ("SADD", online, sid), ("SCARD", online), ("SADD", self._session(jti), sid)
        )
        return bool(added) and count == 1

    async def remove_socket(self, user_id: str, sid: str, jti: str) -> bool:
        online = self._online(user_id)
        removed, count, _ = await self._atomically(
            ("SREM", online, sid), ("SCARD", online), ("SREM", self._session(jti), sid)
        )
        return bool(removed) and count == 0

    async def is_online(self, user_id: str) -> bool:
        (count,) = await self._atomically(("SCARD", self._online(user_id)))
        return bool(count)

    async def sockets_of_user(self, user_id: str) -> list[str]:
        (members,) = await self._atomically(("SMEMBERS", self._online(user_id)))
        return sorted(str(m) for m in members)

    async def sockets_of_session(self, jti: str) -> list[str]:
        (members,) = await self._atomically(("SMEMBERS", self._session(jti)))
        return sorted(str(m) for m in members)

    async def engage(self, conversation_id: str, user_id: str, sid: str) -> None:
        await self._atomically(
            ("SADD", self._engaged(conversation_id, user_id), sid),
            ("SADD", self._socket(sid), conversation_id),
        )

    async def disengage(self, conversation_id: str, user_id: str, sid: str) -> None:
        await self._atomically(
            ("SREM", self._engaged(conversation_id, user_id), sid),
            ("SREM", self._socket(sid), conversation_id),
        )

    async def disengage_socket(self, user_id: str, sid: str) -> None:
        (members,) = await self._atomically(("SMEMBERS", self._socket(sid)))
        for conversation_id in members:
            await self._atomically(("SREM", self._engaged(str(conversation_id), user_id), sid))
        await self._atomically(("DEL", self._socket(sid)))

    async def is_engaged(self, conversation_id: str, user_id: str) -> bool:
        (count,) = await self._atomically(("SCARD", self._engaged(conversation_id, user_id)))
        return bool(count)

    async def close(self) -> None:
        await self.redis.aclose()
