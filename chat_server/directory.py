"""Who takes part in which conversation, and whether it is blocked, held in this process.

Membership never changes once a conversation exists, so it is cached (least recently used dropped) and an
event on a known conversation costs no database read.

Block state changes (the platform writes it), so it is kept true three ways:
- the change stream on `conversations` makes it forget a state that any writer changed (the next question
  reads the database); while the stream is down nothing is cached and every question reads through;
- after a block or unblock, before it answers its own caller, the platform bumps the conversation's shared
  generation in Redis (`shared_models.runtime.block_generations`, with REDIS_URL) and calls the chat server
  (`POST /internal/conversations/{id}/changed`): the instance that takes the call forgets the state;
- before a batch of messages is written (`blocked_now`), a cached state is trusted only if its generation
  is still the shared one (one Redis round trip per batch): so a message sent after the block call returned
  is refused on every instance, never let through by a stale cache. Generations are random tokens (a
  counter would repeat after Redis restarts empty); a state read while no generation was known is trusted
  for TRUST_UNKNOWN_SECONDS at most, and every cached state is forgotten when Redis restarted. Without
  Redis (one instance) the call is what makes it immediate; if the platform cannot reach the chat server,
  the change stream brings the new state within about a second.
"""

import asyncio
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from redis.asyncio import Redis

from shared_models import store
from shared_models.documents import Conversation
from shared_models.ids import parse_object_id
from shared_models.runtime import block_generations, change_streams
from shared_models.services.conversations import Members, sides

log = structlog.get_logger(__name__)
ENTRIES_KEPT = 100_000
IDLE_POLL_SECONDS = (0.05, 1.0)  # the pause after an empty poll: first, and at most (doubling)
# With Redis, a state read while no generation was known is trusted for this long at most: a bump made
# meanwhile and then lost (Redis restarted, or the key expired) must not leave it trusted for good.
TRUST_UNKNOWN_SECONDS = 300.0
SHOWN = {"customer_id": 1, "provider_user_id": 1, "customer_blocked": 1, "provider_blocked": 1}


@dataclass
class Entry:
    members: Members
    blocked: bool | None  # None: not known (forgotten, or not cacheable now)
    generation: str = block_generations.UNKNOWN  # the shared generation the block state was read at (Redis)
    read_at: float = 0.0  # time.monotonic() of the read


def _blocked(doc: dict[str, Any]) -> bool:
    return bool(doc.get("customer_blocked") or doc.get("provider_blocked"))


class Generations:
    """This deployment's per-conversation block generations (`shared_models.runtime.block_generations`)."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix

    async def current(self, conversation_ids: Sequence[str]) -> list[str]:
        return await block_generations.current(self.redis, self.prefix, conversation_ids)

    async def bump(self, conversation_id: str) -> None:
        await block_generations.bump(self.redis, self.prefix, conversation_id)


class ConversationDirectory:
    def __init__(self, generations: Generations | None = None, size: int = ENTRIES_KEPT) -> None:
        self.generations = generations
        self.size = size
        self.entries: OrderedDict[str, Entry] = OrderedDict()
        self.watching = False  # the change stream is open: block state may be cached
        self._loads: dict[str, object] = {}  # conversation id -> token of the read in flight
        self.hits = 0
        self.misses = 0

    async def members(self, conversation_id: str, user_id: str) -> Members | None:
        """The conversation's members if `user_id` is one of them, else None (→ `not_found`)."""
        entry = self.entries.get(conversation_id)
        if entry is None:
            self.misses += 1
            entry = await self._load(conversation_id)
            if entry is None:
                return None
        else:
            self.hits += 1
            self.entries.move_to_end(conversation_id)
        return entry.members if sides(entry.members, user_id) is not None else None

    async def read(self, conversation_id: str) -> Members | None:
        """The conversation's members, read from the database now (None if there is no such conversation)."""
        entry = await self._load(conversation_id)
        return entry.members if entry is not None else None

    async def blocked(self, members: Members) -> bool:
        """Whether either side blocked the other, as this process knows it (typing, receipts): cached while
        the change stream is open."""
        entry = self.entries.get(members.id)
        if entry is not None and entry.blocked is not None and self.watching:
            return entry.blocked
        loaded = await self._load(members.id)
        return loaded is None or bool(loaded.blocked)

    async def blocked_now(self, conversation_ids: Sequence[str]) -> dict[str, bool]:
        """The block state of each conversation at this moment, for a batch of messages about to be written
        (a missing conversation counts as blocked). With Redis, one round trip validates every cached state
        against the shared generations; a state not known or outdated is read from the database."""
        ids = list(dict.fromkeys(conversation_ids))
        unknown = block_generations.UNKNOWN
        shared = await self.generations.current(ids) if self.generations is not None else [unknown] * len(ids)
        now = time.monotonic()
        answers: dict[str, bool] = {}
        stale: list[tuple[str, str]] = []
        for conversation_id, generation in zip(ids, shared, strict=True):
            entry = self.entries.get(conversation_id)
            if (
                entry is not None
                and entry.blocked is not None
                and self.watching
                and entry.generation == generation
                and (
                    generation != unknown
                    or self.generations is None
                    or now - entry.read_at < TRUST_UNKNOWN_SECONDS
                )
            ):
                answers[conversation_id] = entry.blocked
            else:
                stale.append((conversation_id, generation))
        loaded = await asyncio.gather(*(self._load(c, generation) for c, generation in stale))
        for (conversation_id, _), entry in zip(stale, loaded, strict=True):
            answers[conversation_id] = entry is None or bool(entry.blocked)
        return answers

    async def invalidate(self, conversation_id: str) -> None:
        """The platform changed the conversation: forget its block state here, and (with Redis) make every
        instance re-read it before its next write. Returns once that holds."""
        self.changed(conversation_id)
        if self.generations is not None:
            await self.generations.bump(conversation_id)

    def changed(self, conversation_id: str, doc: dict[str, Any] | None = None) -> None:
        """The conversation changed (change stream, or the platform's call): forget its block state unless
        the changed document shows the same state as known. The document is never taken as the new state:
        the engine's change events carry the document as it was then, which may be older than what this
        process read since; forgetting makes the next question read the database."""
        entry = self.entries.get(conversation_id)
        if (
            doc is not None
            and entry is not None
            and entry.blocked is not None
            and _blocked(doc) == entry.blocked
        ):
            return  # not a block change (e.g. the conversation's activity)
        self._loads.pop(conversation_id, None)
        if entry is not None:
            entry.blocked = None

    async def _load(self, conversation_id: str, generation: str = block_generations.UNKNOWN) -> Entry | None:
        """Read the conversation; cache what was read unless a change arrived meanwhile. `generation` is the
        shared generation observed before this read (so a bump during it makes the next check re-read)."""
        oid = parse_object_id(conversation_id)
        if oid is None:
            return None
        read_at = time.monotonic()
        token = object()
        self._loads[conversation_id] = token
        doc = await store.read_one(Conversation, {"_id": oid}, SHOWN)
        fresh = self._loads.get(conversation_id) is token
        if fresh:
            del self._loads[conversation_id]
        if doc is None:
            self.entries.pop(conversation_id, None)
            return None
        members = Members(conversation_id, doc["customer_id"], doc["provider_user_id"])
        answer = Entry(members, _blocked(doc), generation, read_at)
        self.entries[conversation_id] = Entry(
            members, answer.blocked if fresh and self.watching else None, generation, read_at
        )
        self.entries.move_to_end(conversation_id)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)
        return answer

    def forget_all_block_state(self) -> None:
        """Forget every cached block state (the next question about each reads the database): when the
        change stream (re)starts from nothing, and when Redis restarted (its generations are gone)."""
        self._loads.clear()
        for entry in self.entries.values():
            entry.blocked = None

    async def watch(self) -> None:
        """Follow changes to conversations for as long as the process runs, starting afresh (everything
        forgotten) after any failure (`shared_models.runtime.change_streams`); no block state is cached while not
        watching."""

        def opened() -> None:
            self.forget_all_block_state()
            self.watching = True
            log.info("chat.directory_watching")

        def closed() -> None:
            self.watching = False
            self.forget_all_block_state()

        def changed(event: dict[str, Any]) -> None:
            key = event.get("documentKey", {}).get("_id")
            if key is not None:
                self.changed(str(key), event.get("fullDocument"))

        await change_streams.follow(
            Conversation,
            on_open=opened,
            on_event=changed,
            on_closed=closed,
            now=time.monotonic,
            pauses=IDLE_POLL_SECONDS,
            full_document="updateLookup",
            max_await_time_ms=1000,  # MongoDB holds an empty getMore this long (the engine answers at once)
        )
