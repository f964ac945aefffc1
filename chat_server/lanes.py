"""Per-socket order: the events of one socket are admitted one after another, in the order it emitted them.

python-socketio runs every incoming event as its own task (`async_handlers=True`), so two events of one
socket can overtake each other at their first await. Each handler therefore takes a ticket the moment its
task starts (synchronously, before any await: tasks start in the order the socket's packets were read) and
waits for the previous ticket of the same socket to be released before it acts. A `message:send` releases
its ticket as soon as its message has its place in the commit queue, so a socket can still have many
messages in flight (pipelining) while their order is kept. Different sockets never wait for each other.
"""

import asyncio


class SocketLanes:
    def __init__(self) -> None:
        self._tail: dict[str, asyncio.Future[None]] = {}

    def enter(self, sid: str) -> tuple[asyncio.Future[None] | None, asyncio.Future[None]]:
        """Take the socket's next ticket: (the previous one to wait for, or None; this one, to release).
        Must be called before the caller's first await."""
        previous = self._tail.get(sid)
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._tail[sid] = mine
        return previous, mine

    def leave(self, sid: str, mine: asyncio.Future[None]) -> None:
        """Release a ticket: the socket's next event may proceed."""
        if not mine.done():
            mine.set_result(None)
        if self._tail.get(sid) is mine:
            del self._tail[sid]

    def __len__(self) -> int:
        return len(self._tail)
