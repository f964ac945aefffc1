"""Shared real-time state: who is online (any device), who is looking at which conversation, who is typing
where.

In memory for one process; in Redis when REDIS_URL is set, so every chat-server instance sees the same truth.
Every change is one atomic step (one event-loop step in memory; one MULTI/EXEC in Redis), and each answer
is computed inside that step, so two devices connecting or leaving at once can never both, or neither,
announce a change.
"""

import json
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from redis.asyncio import Redis

from shared_models.runtime.redis_client import redis_client
from shared_models.services.notifications import Presence

DELIVERY_MEMORY_SECONDS = 24 * 3600


@dataclass
class Withdrawn:
    """What sockets that went leave behind: users now offline, and where each user no longer types."""

    offline: list[str] = field(default_factory=list)
    stopped_typing: dict[str, list[str]] = field(default_factory=dict)

    def merge(self, other: "Withdrawn") -> None:
        self.offline += [u for u in other.offline if u not in self.offline]
        for user_id, conversation_ids in other.stopped_typing.items():
            known = self.stopped_typing.setdefault(user_id, [])
            known += [c for c in conversation_ids if c not in known]


class StateStore(Protocol):
    async def add_socket(self, user_id: str, sid: str, jti: str) -> bool:
        """Record a connected socket (of login session `jti`); True if the user just came online."""

    async def remove_socket(self, user_id: str, sid: str, jti: str) -> Withdrawn:
        """Forget a socket and everything it held (engagement, typing): what that withdraws."""

    async def is_online(self, user_id: str) -> bool: ...

    async def presence_many(self, queries: Sequence[tuple[str, str]]) -> list[Presence]:
        """(user id, conversation id) → online and engaged in that conversation, all in one round trip."""

    async def sockets_of_user(self, user_id: str) -> list[str]:
        """Socket ids on every instance, so a disconnect reaches them wherever they are."""

    async def sockets_of_session(self, jti: str) -> list[str]: ...

    async def engage(self, conversation_id: str, user_id: str, sid: str) -> None: ...

    async def disengage(self, conversation_id: str, user_id: str, sid: str) -> None: ...

    async def is_engaged(self, conversation_id: str, user_id: str) -> bool: ...

    async def start_typing(self, conversation_id: str, user_id: str, sid: str) -> None: ...

    async def stop_typing(self, conversation_id: str, user_id: str, sid: str) -> bool:
        """This socket stopped typing there; True if it was, and no other device of the user still is."""

    def typing_here(self, conversation_id: str, sid: str) -> bool:
        """Whether this instance's socket `sid` is typing in the conversation (no round trip)."""

    def engaged_here(self, conversation_id: str, sid: str) -> bool:
        """Whether this instance's socket `sid` joined the conversation (no round trip)."""

    async def first_delivery(self, delivery_id: str) -> bool:
        """True once per id (for a day): a notification pushed twice by a retrying relay shows once."""
        ...

    async def heartbeat(self) -> None:
        """Keep this instance's sockets alive in the shared state (a dead instance's expire)."""

    async def reap(self) -> Withdrawn:
        """Withdraw the sockets of instances that died without a word; what that withdraws."""

    async def check(self) -> None:
        """Readiness: raise unless the shared state answers."""

    async def close(self) -> None: ...


@dataclass
class LocalSocket:
    user_id: str
    jti: str
    engaged: set[str] = field(default_factory=set)
    typing: set[str] = field(default_factory=set)

    def record(self) -> str:
        return json.dumps(
            {"u": self.user_id, "j": self.jti, "e": sorted(self.engaged), "t": sorted(self.typing)}
        )

    @classmethod
    def parse(cls, raw: str) -> "LocalSocket":
        data = json.loads(raw)
        return cls(data["u"], data["j"], set(data.get("e", ())), set(data.get("t", ())))


class MemoryState:
    def __init__(self) -> None:
        self.local: dict[str, LocalSocket] = {}
        self.sockets: dict[str, set[str]] = defaultdict(set)
        self.by_session: dict[str, set[str]] = defaultdict(set)
        self.engaged: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.typing: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.delivered: dict[str, float] = {}

    async def add_socket(self, user_id: str, sid: str, jti: str) -> bool:
        self.local[sid] = LocalSocket(user_id, jti)
        first = not self.sockets[user_id]
        self.sockets[user_id].add(sid)
        self.by_session[jti].add(sid)
        return first

    async def remove_socket(self, user_id: str, sid: str, jti: str) -> Withdrawn:
        gone = Withdrawn()
        socket = self.local.pop(sid, None)
        if socket is not None:
            for conversation_id in socket.engaged:
                _discard(self.engaged, (conversation_id, user_id), sid)
            stopped = [c for c in sorted(socket.typing) if not _discard(self.typing, (c, user_id), sid)]
            if stopped:
                gone.stopped_typing[user_id] = stopped
        _discard(self.by_session, jti, sid)
        was_there = sid in self.sockets.get(user_id, ())
        if was_there and not _discard(self.sockets, user_id, sid):
            gone.offline.append(user_id)
        return gone

    async def is_online(self, user_id: str) -> bool:
        return bool(self.sockets.get(user_id))

    async def presence_many(self, queries: Sequence[tuple[str, str]]) -> list[Presence]:
        return [
            Presence(online=bool(self.sockets.get(u)), engaged=bool(self.engaged.get((c, u))))
            for u, c in queries
        ]

    async def sockets_of_user(self, user_id: str) -> list[str]:
        return sorted(self.sockets.get(user_id, ()))

    async def sockets_of_session(self, jti: str) -> list[str]:
        return sorted(self.by_session.get(jti, ()))

    async def engage(self, conversation_id: str, user_id: str, sid: str) -> None:
        if sid in self.local:
            self.local[sid].engaged.add(conversation_id)
            self.engaged[(conversation_id, user_id)].add(sid)

    async def disengage(self, conversation_id: str, user_id: str, sid: str) -> None:
        if sid in self.local:
            self.local[sid].engaged.discard(conversation_id)
        _discard(self.engaged, (conversation_id, user_id), sid)

    async def is_engaged(self, conversation_id: str, user_id: str) -> bool:
        return bool(self.engaged.get((conversation_id, user_id)))

    async def start_typing(self, conversation_id: str, user_id: str, sid: str) -> None:
        if sid in self.local:
            self.local[sid].typing.add(conversation_id)
            self.typing[(conversation_id, user_id)].add(sid)

    async def stop_typing(self, conversation_id: str, user_id: str, sid: str) -> bool:
        socket = self.local.get(sid)
        if socket is None or conversation_id not in socket.typing:
            return False
        socket.typing.discard(conversation_id)
        return not _discard(self.typing, (conversation_id, user_id), sid)

    def typing_here(self, conversation_id: str, sid: str) -> bool:
        return _holds(self.local, sid, "typing", conversation_id)

    def engaged_here(self, conversation_id: str, sid: str) -> bool:
        return _holds(self.local, sid, "engaged", conversation_id)

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

    async def reap(self) -> Withdrawn:
        return Withdrawn()  # one process: nobody else's sockets to withdraw

    async def check(self) -> None:
        return None

    async def close(self) -> None:
        return None


def _holds(local: dict[str, LocalSocket], sid: str, what: str, conversation_id: str) -> bool:
    socket = local.get(sid)
    return socket is not None and conversation_id in getattr(socket, what)


def _discard(sets: dict[Any, set[str]], key: Any, sid: str) -> bool:
    """Remove `sid` from the set at `key` (dropping an empty set); True if others remain."""
    members = sets.get(key)
    if members is None:
        return False
    members.discard(sid)
    if not members:
        del sets[key]
        return False
    return True


class RedisState:
    """Sorted sets of socket ids scored by expiry: per user (online), per login session, per (conversation,
    user) for engagement and for typing. Each instance refreshes the expiry of its own sockets (`heartbeat`)
    and keeps a record of each of them under its own key; readers ignore expired entries, so the sockets of
    an instance that died without a word (SIGKILL, OOM) stop counting within `ttl` seconds, and the first
    live instance to notice (`reap`, claimed by removing the dead instance from the register) withdraws
    what they held: their users' presence and typing are announced as ended.
    """

    def __init__(self, url: str, prefix: str = "chat", ttl: float = 60.0) -> None:
        self.redis: Redis = redis_client(url, decode_responses=True)
        self.prefix = prefix
        self.ttl = ttl
        self.host = uuid.uuid4().hex
        self.local: dict[str, LocalSocket] = {}

    def _online(self, user_id: str) -> str:
        return f"{self.prefix}:online:{user_id}"

    def _session(self, jti: str) -> str:
        return f"{self.prefix}:session:{jti}"

    def _engaged(self, conversation_id: str, user_id: str) -> str:
        return f"{self.prefix}:engaged:{conversation_id}:{user_id}"

    def _typing(self, conversation_id: str, user_id: str) -> str:
        return f"{self.prefix}:typing:{conversation_id}:{user_id}"

    @property
    def _instances(self) -> str:
        return f"{self.prefix}:instances"

    def _records(self, host: str) -> str:
        return f"{self.prefix}:instance:{host}"

    async def _atomically(self, *commands: tuple[Any, ...]) -> list[Any]:
        """Run commands (NAME, key, args...) in one MULTI/EXEC and return their replies."""
        async with self.redis.pipeline(transaction=True) as pipe:
            for name, *args in commands:
                pipe.execute_command(name, *args)
            return list(await pipe.execute())

    def _keep(self, key: str, sid: str, now: float) -> list[tuple[Any, ...]]:
        """Commands that (re)add `sid` to `key` until now + ttl and keep the key itself alive."""
        return [("ZADD", key, now + self.ttl, sid), ("EXPIRE", key, int(self.ttl * 2) + 1)]

    def _save(self, sid: str) -> tuple[Any, ...]:
        return ("HSET", self._records(self.host), sid, self.local[sid].record())

    def _count_live(self, key: str, now: float) -> tuple[Any, ...]:
        return ("ZCOUNT", key, now, "+inf")

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
            self._save(sid),
            ("ZADD", self._instances, now + self.ttl, self.host),
        )
        added, count = replies[1], replies[3]
        return bool(added) and count == 1

    def _withdrawal(self, sid: str, socket: LocalSocket, now: float) -> list[tuple[Any, ...]]:
        """Commands that remove a socket everywhere, then count what its user still has live (the online
        count first, then one count per conversation it was typing in, in sorted order)."""
        user = socket.user_id
        commands: list[tuple[Any, ...]] = [
            ("ZREM", self._online(user), sid),
            ("ZREM", self._session(socket.jti), sid),
            *(("ZREM", self._engaged(c, user), sid) for c in socket.engaged),
            *(("ZREM", self._typing(c, user), sid) for c in socket.typing),
            self._count_live(self._online(user), now),
            *(self._count_live(self._typing(c, user), now) for c in sorted(socket.typing)),
        ]
        return commands

    def _withdrawn(self, socket: LocalSocket, replies: list[Any], removed_online: bool) -> Withdrawn:
        counts = replies[-(len(socket.typing) + 1) :]
        gone = Withdrawn()
        if removed_online and int(counts[0]) == 0:
            gone.offline.append(socket.user_id)
        stopped = [c for c, n in zip(sorted(socket.typing), counts[1:], strict=True) if int(n) == 0]
        if stopped:
            gone.stopped_typing[socket.user_id] = stopped
        return gone

    async def remove_socket(self, user_id: str, sid: str, jti: str) -> Withdrawn:
        now = time.time()
        socket = self.local.pop(sid, None) or LocalSocket(user_id, jti)
        replies = await self._atomically(
            *self._withdrawal(sid, socket, now), ("HDEL", self._records(self.host), sid)
        )
        return self._withdrawn(socket, replies[:-1], bool(replies[0]))

    async def is_online(self, user_id: str) -> bool:
        (count,) = await self._atomically(self._count_live(self._online(user_id), time.time()))
        return int(count) > 0

    async def presence_many(self, queries: Sequence[tuple[str, str]]) -> list[Presence]:
        now = time.time()
        async with self.redis.pipeline(transaction=False) as pipe:
            for user_id, conversation_id in queries:
                pipe.zcount(self._online(user_id), now, "+inf")
                pipe.zcount(self._engaged(conversation_id, user_id), now, "+inf")
            counts = await pipe.execute()
        return [
            Presence(online=int(counts[2 * i]) > 0, engaged=int(counts[2 * i + 1]) > 0)
            for i in range(len(queries))
        ]

    async def sockets_of_user(self, user_id: str) -> list[str]:
        return await self._live(self._online(user_id))

    async def sockets_of_session(self, jti: str) -> list[str]:
        return await self._live(self._session(jti))

    async def engage(self, conversation_id: str, user_id: str, sid: str) -> None:
        if sid in self.local:
            await self._hold(
                sid, self.local[sid].engaged, conversation_id, self._engaged(conversation_id, user_id)
            )

    async def disengage(self, conversation_id: str, user_id: str, sid: str) -> None:
        if sid not in self.local:
            return
        self.local[sid].engaged.discard(conversation_id)
        await self._atomically(("ZREM", self._engaged(conversation_id, user_id), sid), self._save(sid))

    async def is_engaged(self, conversation_id: str, user_id: str) -> bool:
        (count,) = await self._atomically(
            self._count_live(self._engaged(conversation_id, user_id), time.time())
        )
        return int(count) > 0

    async def start_typing(self, conversation_id: str, user_id: str, sid: str) -> None:
        if sid in self.local:
            await self._hold(
                sid, self.local[sid].typing, conversation_id, self._typing(conversation_id, user_id)
            )

    async def _hold(self, sid: str, held: set[str], conversation_id: str, key: str) -> None:
        """A local socket now holds `conversation_id` (engaged in it, typing in it): recorded locally, in
        the shared set `key` (with its expiry) and in the socket's record, at once."""
        held.add(conversation_id)
        await self._atomically(*self._keep(key, sid, time.time()), self._save(sid))

    async def stop_typing(self, conversation_id: str, user_id: str, sid: str) -> bool:
        socket = self.local.get(sid)
        if socket is None or conversation_id not in socket.typing:
            return False
        socket.typing.discard(conversation_id)
        key = self._typing(conversation_id, user_id)
        _, count, _ = await self._atomically(
            ("ZREM", key, sid), self._count_live(key, time.time()), self._save(sid)
        )
        return int(count) == 0

    def typing_here(self, conversation_id: str, sid: str) -> bool:
        return _holds(self.local, sid, "typing", conversation_id)

    def engaged_here(self, conversation_id: str, sid: str) -> bool:
        return _holds(self.local, sid, "engaged", conversation_id)

    async def first_delivery(self, delivery_id: str) -> bool:
        key = f"{self.prefix}:delivered:{delivery_id}"
        return bool(await self.redis.set(key, "1", nx=True, ex=DELIVERY_MEMORY_SECONDS))

    async def heartbeat(self) -> None:
        now = time.time()
        commands: list[tuple[Any, ...]] = [("ZADD", self._instances, now + self.ttl, self.host)]
        for sid, socket in list(self.local.items()):
            # The socket's record too: after Redis lost its data (a restart), a death must still be reaped.
            commands.append(("HSET", self._records(self.host), sid, socket.record()))
            commands += self._keep(self._online(socket.user_id), sid, now)
            commands += self._keep(self._session(socket.jti), sid, now)
            for conversation_id in socket.engaged:
                commands += self._keep(self._engaged(conversation_id, socket.user_id), sid, now)
            for conversation_id in socket.typing:
                commands += self._keep(self._typing(conversation_id, socket.user_id), sid, now)
        commands.append(("EXPIRE", self._records(self.host), DELIVERY_MEMORY_SECONDS))
        await self._atomically(*commands)

    async def reap(self) -> Withdrawn:
        now = time.time()
        gone = Withdrawn()
        dead = [str(h) for h in await self.redis.zrangebyscore(self._instances, "-inf", now)]
        for host in dead:
            if host == self.host or not await self.redis.zrem(self._instances, host):
                continue  # ourselves (a late heartbeat), or another instance claimed it first
            records = await self.redis.hgetall(self._records(host))
            for sid, raw in records.items():
                socket = LocalSocket.parse(str(raw))
                replies = await self._atomically(*self._withdrawal(str(sid), socket, now))
                # Its entry may have expired and been swept already: offline is judged by what is live.
                gone.merge(self._withdrawn(socket, replies, removed_online=True))
            await self.redis.delete(self._records(host))
        return gone

    async def check(self) -> None:
        await self.redis.ping()

    async def close(self) -> None:
        try:
            if not self.local:  # sockets still recorded are left for another instance to reap and announce
                await self._atomically(
                    ("ZREM", self._instances, self.host), ("DEL", self._records(self.host))
                )
        finally:
            await self.redis.aclose()
