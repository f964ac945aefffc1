"""Who a session belongs to, held in each process of both services and kept true by change streams.

An authenticated request or socket connect needs the user (status, role, session generation, and for the
platform's routes the whole account) and whether its token was logged out. Reading both from the database
on every request made the engine, not the web framework, bound every authenticated route. This cache holds
one entry per user: the `users` document and the ids (`jti`) of its revoked sessions.

It never serves a stale "allowed":
- an entry is filled from a read only if no change to that user arrived while the read was in flight, and
  only while both change streams (`users`, `revoked_sessions`) are open;
- a cached entry is used only while both streams are caught up: each ended its last poll with nothing left,
  and that poll began at most MAX_LAG_SECONDS ago. Otherwise (a stream down, reconnecting, or behind under
  load) every check reads through to the database (what it reads is kept only while both streams are
  open, to be used once they have caught up again);
- any change event on a user (a logout's revocation, a suspension, a password reset, a deletion, any edit)
  drops that user's entry; a stream failure (or the client losing its server) drops every entry (the
  stream restarts from now, not from a resume token, so nothing it missed can leave an entry behind);
- the process that writes such a change calls `forget(user_id)` before it answers, which drops the entry in
  every cache of this process at once. Other processes follow when their streams deliver the event: within
  MAX_LAG_SECONDS plus one poll, bounded by the rule above whatever the load.

The streams are followed by `shared_models.runtime.change_streams.follow`, which handles the engine's change-stream
faults (one stream per collection; a stream the engine closed after a restart is a failure, not "caught
up"). Bounded size: least recently used entries are dropped past `size`.
"""

import asyncio
import math
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from bson import ObjectId
from prometheus_client import Counter, Gauge

from shared_models import store
from shared_models.documents import RevokedSession, User
from shared_models.runtime import change_streams

log = structlog.get_logger(__name__)

ENTRIES_KEPT = 50_000
# The pause after a poll that found nothing: first, and at most (doubling while nothing changes), well
# inside MAX_LAG_SECONDS so a process stays fresh under load (its loop may answer a poll late), at about
# four polls a second per stream when idle (every process polls the one database).
POLL_SECONDS = (0.05, 0.25)
# A cached entry is used only if both streams were caught up this recently: a change committed at t is
# applied everywhere before any check after t + MAX_LAG_SECONDS is answered from a cache (the issue's
# bound is one second, the rest is margin for the check itself).
MAX_LAG_SECONDS = 0.75
AWAIT_MS = 100

HITS = Counter("session_cache_hits_total", "Session checks answered from this process's cache.")
MISSES = Counter("session_cache_misses_total", "Session checks that read the user (not cached yet).")
READ_THROUGHS = Counter(
    "session_cache_read_throughs_total",
    "Session checks that read the database because the change streams were down or behind.",
)
_CACHES: "weakref.WeakSet[SessionCache]" = weakref.WeakSet()


def _lag() -> float:
    lags = [cache.lag() for cache in _CACHES]
    return max(lags) if lags else 0.0


ENTRIES = Gauge("session_cache_entries", "Users held in this process's session cache.")
ENTRIES.set_function(lambda: sum(len(cache.entries) for cache in _CACHES))
STREAM_LAG = Gauge(
    "session_cache_stream_lag_seconds",
    "Seconds since the session cache's change streams were last caught up (+Inf while a stream is down).",
)
STREAM_LAG.set_function(_lag)


@dataclass(frozen=True)
class Entry:
    user: User
    revoked: frozenset[str]  # jti of this user's logged-out sessions (until their tokens expire)


@dataclass
class _Stream:
    name: str
    open: bool = False
    caught_up_at: float = -math.inf  # time.monotonic() at the start of the last poll that found nothing


def forget(user_id: str) -> None:
    """The caller changed this user's sessions or account: every cache in this process drops the entry
    (and ignores a read of it already in flight), so the next check reads the database."""
    for cache in list(_CACHES):
        cache.changed(user_id)


class SessionCache:
    def __init__(self, size: int = ENTRIES_KEPT, now: Callable[[], float] = time.monotonic) -> None:
        self.size = size
        self.now = now
        self.entries: OrderedDict[str, Entry] = OrderedDict()
        self._loads: dict[str, object] = {}  # user id -> token of the read in flight
        self._epoch = 0  # moves when every entry is dropped: a read begun before is not kept
        self._streams = (_Stream(User.Settings.name), _Stream(RevokedSession.Settings.name))
        self._progress = asyncio.Event()  # set (and replaced) whenever a stream catches up
        _CACHES.add(self)

    # -- answers ------------------------------------------------------------------------------------

    def watching(self) -> bool:
        return all(stream.open for stream in self._streams)

    def lag(self) -> float:
        """Seconds since both streams were last caught up (+Inf while one is not open)."""
        if not self.watching():
            return math.inf
        return max(0.0, self.now() - min(stream.caught_up_at for stream in self._streams))

    def fresh(self) -> bool:
        return self.lag() <= MAX_LAG_SECONDS

    async def user(self, user_id: ObjectId) -> Entry | None:
        """The user's account and revoked sessions (None: no such user): from the cache when it is fresh,
        else from the database. The returned `user` is the caller's own copy."""
        key = str(user_id)
        if self.fresh():
            entry = self.entries.get(key)
            if entry is not None:
                HITS.inc()
                self.entries.move_to_end(key)
                return Entry(entry.user.model_copy(), entry.revoked)
            MISSES.inc()
        else:
            READ_THROUGHS.inc()
        return await self._load(key, user_id)

    async def _load(self, key: str, user_id: ObjectId) -> Entry | None:
        token = object()
        epoch, keep = self._epoch, self.watching()
        self._loads[key] = token
        try:
            raw, revoked = await asyncio.gather(
                store.read_one(User, {"_id": user_id}),
                store.read_many(RevokedSession, {"user_id": key}, {"jti": 1}),
            )
        finally:
            unchanged = self._loads.get(key) is token
            if unchanged:
                del self._loads[key]
        if raw is None:
            self.entries.pop(key, None)
            return None
        entry = Entry(User.model_validate(raw), frozenset(str(doc["jti"]) for doc in revoked))
        if keep and unchanged and epoch == self._epoch and self.watching():
            self.entries[key] = entry
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)
            return Entry(entry.user.model_copy(), entry.revoked)
        return entry

    # -- keeping it true ----------------------------------------------------------------------------

    def changed(self, user_id: str) -> None:
        self.entries.pop(user_id, None)
        self._loads.pop(user_id, None)

    def clear(self) -> None:
        self._epoch += 1
        self.entries.clear()
        self._loads.clear()

    async def watch(self) -> None:
        """Follow both collections for as long as the process runs (cancel the task to stop)."""
        users, revoked = self._streams
        await asyncio.gather(
            self._follow(users, User, self._user_event),
            self._follow(revoked, RevokedSession, self._revocation),
        )

    def _user_event(self, event: dict[str, Any]) -> None:
        key = (event.get("documentKey") or {}).get("_id")
        if key is None:
            self.clear()
        else:
            self.changed(str(key))

    def _revocation(self, event: dict[str, Any]) -> None:
        if event.get("operationType") == "delete":
            return  # an expired revocation (TTL): its token has expired too, nothing becomes allowed
        user_id = (event.get("fullDocument") or {}).get("user_id")
        if isinstance(user_id, str):
            self.changed(user_id)
        else:
            self.clear()

    async def _follow(
        self,
        state: _Stream,
        model: type[User] | type[RevokedSession],
        apply: Callable[[dict[str, Any]], None],
    ) -> None:
        def opened() -> None:
            state.open = True

        def caught_up(began: float) -> None:
            state.caught_up_at = began
            progress, self._progress = self._progress, asyncio.Event()
            progress.set()

        def closed() -> None:
            # Closed or failed: nothing cached is trusted, and no read begun before is kept.
            state.open = False
            state.caught_up_at = -math.inf
            self.clear()

        await change_streams.follow(
            model,
            on_open=opened,
            on_event=apply,
            on_caught_up=caught_up,
            on_closed=closed,
            now=self.now,
            pauses=POLL_SECONDS,
            # MongoDB holds an empty getMore for up to this long (the engine answers at once): short, so
            # that "caught up" is known well inside MAX_LAG_SECONDS there too.
            max_await_time_ms=AWAIT_MS,
        )

    async def synced(self) -> None:
        """Return once both streams have been caught up from a poll that began after this call: every
        change committed before it has been applied here (tests and tools wait on this, never on time)."""
        since = self.now()
        while not (self.watching() and min(s.caught_up_at for s in self._streams) >= since):
            await self._progress.wait()
