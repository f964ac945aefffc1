"""Following one collection's changes, for caches that must never outlive what they missed.

The change-stream faults of the embedded engine (nx-27017) are handled here, once:
- a database-level `watch()` yields no events at all: each collection has its own stream;
- an empty getMore is answered at once instead of waiting: an empty poll is followed by a pause that grows
  while nothing changes;
- after the engine restarts it numbers cursors again from the same small ids, and answers a getMore for an
  id it does not know with an empty, closed cursor instead of CursorNotFound. pymongo then marks the stream
  dead and `try_next()` answers None for ever without asking the server, which looked like "caught up".
  So a stream that is not alive is a failure; and because a cursor id from before the restart may now
  name another client's new stream (whose events a getMore would take), any sign that this client lost
  its server (pymongo cleared its connection pool) restarts the stream from now before its next poll, and
  an event from another collection is a failure too.
A failure ends the stream and tells the follower (`on_closed`), which forgets everything it derived from
it; the stream then starts again from now (never from a resume token that may be gone or misread). On
MongoDB these rules are merely conservative.

Stream plumbing, so the one module besides `shared_models.store` that holds a raw collection: it opens
streams (`watch`) and reads nothing else of the collection but its name and client (tests/shared_models/test_store.py).
"""

import asyncio
import contextlib
import weakref
from collections.abc import Callable
from typing import Any

import structlog
from beanie import Document
from pymongo import monitoring
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.mongo_client import AsyncMongoClient

from shared_models.runtime.background import cancelled_meanwhile

log = structlog.get_logger(__name__)
RETRY_SECONDS = (0.1, 0.5, 1.0, 2.0)


class PoolClears(monitoring.ConnectionPoolListener):
    """Counts how often pymongo cleared a client's connection pool (it does when a connection to the
    server failed: the server went away, perhaps restarted)."""

    def __init__(self) -> None:
        self.count = 0

    def pool_cleared(self, event: monitoring.PoolClearedEvent) -> None:
        self.count += 1

    def pool_created(self, event: monitoring.PoolCreatedEvent) -> None: ...
    def pool_ready(self, event: monitoring.PoolReadyEvent) -> None: ...
    def pool_closed(self, event: monitoring.PoolClosedEvent) -> None: ...
    def connection_created(self, event: monitoring.ConnectionCreatedEvent) -> None: ...
    def connection_ready(self, event: monitoring.ConnectionReadyEvent) -> None: ...
    def connection_closed(self, event: monitoring.ConnectionClosedEvent) -> None: ...
    def connection_check_out_started(self, event: monitoring.ConnectionCheckOutStartedEvent) -> None: ...
    def connection_check_out_failed(self, event: monitoring.ConnectionCheckOutFailedEvent) -> None: ...
    def connection_checked_out(self, event: monitoring.ConnectionCheckedOutEvent) -> None: ...
    def connection_checked_in(self, event: monitoring.ConnectionCheckedInEvent) -> None: ...


_POOL_CLEARS: "weakref.WeakKeyDictionary[Any, PoolClears]" = weakref.WeakKeyDictionary()


def pool_clears_listener(client: AsyncMongoClient[Any], listener: PoolClears) -> None:
    """Remember the listener given to `client` (registry.connect does this for every client it makes)."""
    _POOL_CLEARS[client] = listener


def _pool_clears(collection: AsyncCollection[Any]) -> PoolClears:
    return _POOL_CLEARS.get(collection.database.client) or PoolClears()


class StreamFailed(Exception):
    pass


async def follow(
    model: type[Document],
    *,
    on_open: Callable[[], None],
    on_event: Callable[[dict[str, Any]], None],
    on_closed: Callable[[], None],
    on_caught_up: Callable[[float], None] = lambda began: None,
    now: Callable[[], float],
    pauses: tuple[float, float],
    **watch: Any,
) -> None:
    """Follow `model`'s collection until cancelled. `on_open` when a stream is open (changes from then
    on will be seen); `on_event` for each change; `on_caught_up(t)` after a poll begun at `t` found nothing
    more; `on_closed` when a stream ended, whatever the reason (before a new one opens). `pauses`: the first
    and the longest pause after an empty poll, in seconds. `watch`: options for `collection.watch`."""
    collection: AsyncCollection[Any] = model.get_pymongo_collection()
    clears = _pool_clears(collection)
    failures = 0
    while not cancelled_meanwhile():
        seen = clears.count
        stream = None
        try:
            stream = await collection.watch(**watch)
            on_open()
            failures = 0
            pause = pauses[0]
            while not cancelled_meanwhile():
                if clears.count != seen:
                    raise StreamFailed("the connection to the server was lost")
                began = now()
                event = await stream.try_next()
                if clears.count != seen:
                    raise StreamFailed("the connection to the server was lost")
                if event is None:
                    if not stream.alive:
                        raise StreamFailed("the server closed the change stream")
                    on_caught_up(began)
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, pauses[1])
                    continue
                if (event.get("ns") or {}).get("coll") != collection.name:
                    raise StreamFailed("an event of another collection: the cursor is not ours")
                on_event(event)
                pause = pauses[0]
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            failure: Exception = exc
        finally:
            on_closed()  # before any pause: nothing derived from this stream is trusted from here
            if stream is not None:
                # Closed even after a restart, when its id may now name another client's new stream: that
                # stream then ends (not alive) and its follower starts afresh, which is safe; an unclosed
                # stream that pymongo resumed by itself would hold the engine's change log back for ever.
                with contextlib.suppress(Exception):
                    await stream.close()
        delay = RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)]
        failures += 1
        log.warning("change_stream.failed", collection=collection.name, error=type(failure).__name__,
                    reason=str(failure)[:200], retry_in=delay)  # fmt: skip
        await asyncio.sleep(delay)
