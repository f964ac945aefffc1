"""Group commit: every message this process accepts goes through one queue, and the messages that arrive
while one batch is being written are written together in the next: one unordered insert per batch,
whatever its size (`shared_models.services.conversations.insert_messages`).

Each batch is checked against blocks (`ConversationDirectory.blocked_now`: the state at this moment, on
every instance), numbered (`seq`, in queue order per conversation), stored, handed to delivery, notified,
and only then are its senders acked:
- delivery: every drawn seq in order (`message:new` for what was stored, nothing for what was not). With one
  instance the events have gone out to the rooms before the acks; with several, a conversation's messages
  are published in seq order across instances (`chat_server/ordered.py`), so one may be held until an
  earlier one from another instance is out, and be delivered after its ack;
- notifications: for each stored message and each resend of a stored one (`shared_models.services.notifications`, a few
  writes per recipient and conversation whatever the batch's size). So an acked message has had its
  notification; if they failed, the senders are answered with the failure (`service_unavailable` when the
  database or Redis was out of reach), and a crash means no ack: either way the client resends, and the
  resend is notified (the notification claims count each message once).
One batch is in flight at a time: the database, not the queue, sets the pace.

Conversation activity (preview, ordering of the conversation list) is coalesced: one guarded write per
conversation for all its messages since the last one, made before the acks when the process is quiet (a
small batch with nothing behind it: the conversation list is current when the sender is acked), and at
most `activity_interval` seconds later under load.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import structlog

from chat_server.metrics import COMMIT_BATCH, COMMIT_SECONDS
from chat_server.sequencer import Sequencer
from shared_models.runtime.background import cancelled_meanwhile
from shared_models.services.conversations import (
    Blocked,
    Outgoing,
    Written,
    insert_messages,
    newest_per_conversation,
    record_activity,
    withdraw_unseen,
)

log = structlog.get_logger(__name__)
MAX_BATCH = 500
COLLISION_RETRIES = 5
ACTIVITY_INTERVAL_SECONDS = 0.25
QUIET_BATCH = 4  # a batch this small with nothing behind it: no load to coalesce for


@dataclass
class Committed:
    out: Outgoing
    sid: str
    written: Written


@dataclass
class Pending:
    out: Outgoing
    sid: str
    future: "asyncio.Future[Committed]"
    collisions: int = 0


Deliver = Callable[[Sequence[Committed]], Awaitable[None]]
BlockedNow = Callable[[Sequence[str]], Awaitable[dict[str, bool]]]


@dataclass
class MessageCommitter:
    sequencer: Sequencer
    blocked_now: BlockedNow
    deliver: Deliver  # every drawn seq in order: emits the stored messages (awaited before any ack)
    after: Deliver  # then: notifications (before the acks)
    activity_interval: float = ACTIVITY_INTERVAL_SECONDS
    queue: list[Pending] = field(default_factory=list)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    activity: dict[str, Outgoing] = field(default_factory=dict)  # newest unrecorded message per conversation
    activity_recorded_at: float = 0.0

    def submit(self, out: Outgoing, sid: str) -> "asyncio.Future[Committed]":
        """Queue a message (its place in the queue is its place in its conversation); the future resolves
        once it is stored and delivered, or refused."""
        future: asyncio.Future[Committed] = asyncio.get_running_loop().create_future()
        self.queue.append(Pending(out, sid, future))
        self.wakeup.set()
        return future

    async def run(self) -> None:
        """The commit loop (one task per process)."""
        try:
            while not cancelled_meanwhile():
                if self.activity:  # coalesced activity is written when its interval is up, if nothing comes
                    due = self.activity_recorded_at + self.activity_interval - time.monotonic()
                    try:
                        await asyncio.wait_for(self.wakeup.wait(), max(due, 0.0))
                    except TimeoutError:
                        await self._record_activity()
                        continue
                else:
                    await self.wakeup.wait()
                self.wakeup.clear()
                while self.queue and not cancelled_meanwhile():
                    # One turn of the event loop first: events already read from the sockets join this
                    # batch instead of making the next, smaller one (no wait is added: no timer).
                    await asyncio.sleep(0)
                    batch, self.queue = self.queue[:MAX_BATCH], self.queue[MAX_BATCH:]
                    try:
                        await self._commit(batch)
                    except Exception as exc:  # never lose the loop: this batch is refused, the next goes on
                        log.exception("chat.commit_failed", messages=len(batch))
                        for p in batch:
                            if not p.future.done():
                                p.future.set_exception(exc)
                        await self._abandon(batch)
        finally:
            if self.activity:  # shutting down: what was coalesced is written
                await asyncio.shield(self._record_activity())

    async def _commit(self, batch: list[Pending]) -> None:
        COMMIT_BATCH.observe(len(batch))
        started = time.perf_counter()
        blocked = await self.blocked_now([p.out.members.id for p in batch])
        accepted = [p for p in batch if not blocked[p.out.members.id]]
        await self.sequencer.assign([p.out for p in accepted])
        written = dict(zip(map(id, accepted), await insert_messages([p.out for p in accepted]), strict=True))
        retry = await self._collisions(accepted, written)
        if retry:
            await self._requeue(retry)
        refusal = Written(error=Blocked())
        again = set(map(id, retry))
        outcomes = [(p, written.get(id(p), refusal)) for p in batch if id(p) not in again]
        done = [(p, Committed(p.out, p.sid, w)) for p, w in outcomes]
        fresh = [c for _, c in done if c.written.created]
        for out in newest_per_conversation([c.out for c in fresh]):
            self.activity[out.members.id] = out
        # Quiet (a small batch, nothing behind it): the conversation list is current before anyone is acked.
        # Busy: coalesced, at most `activity_interval` later (and REST reads repair what a crash lost).
        if len(batch) <= QUIET_BATCH and not self.queue:
            await self._record_activity()
        # Every seq the batch drew, in order: what was stored is delivered; what was not (a resend, a clash
        # taken back) is announced as nothing, so no receiver's order waits for it.
        drawn = [
            Committed(p.out, p.sid, written[id(p)] if id(p) not in again else Written(collided=True))
            for p in accepted
        ]
        try:
            await self.deliver(drawn)
        except Exception:
            log.exception("chat.delivery_failed", messages=len(fresh))
        # Notifications before the acks: an acked message has had its notification. If they failed (or the
        # process dies first), the senders get no ok: their apps resend, the resend finds the stored message
        # and is notified again (the claims count each message once).
        notified = [c for _, c in done if c.written.created or c.written.original is not None]
        failure = await self._after(notified)
        unnotified = {id(c) for c in notified} if failure is not None else set()
        for p, committed in done:
            if p.future.done():
                continue
            if failure is not None and id(committed) in unnotified:
                p.future.set_exception(failure)
            else:
                p.future.set_result(committed)
        COMMIT_SECONDS.observe(time.perf_counter() - started)
        if self.activity and time.monotonic() - self.activity_recorded_at >= self.activity_interval:
            await self._record_activity()

    async def _abandon(self, batch: list[Pending]) -> None:
        """A failed batch's drawn seqs are announced as nothing (best effort), so no order waits for them."""
        drawn = [Committed(p.out, p.sid, Written()) for p in batch if p.out.seq > 0]
        if drawn:
            try:
                await self.deliver(drawn)
            except Exception:
                log.exception("chat.abandon_failed", messages=len(drawn))

    async def _after(self, fresh: list[Committed]) -> Exception | None:
        """Run `after` (the notifications); what it failed with, if it did."""
        try:
            await self.after(fresh)
        except Exception as exc:
            log.exception("chat.after_commit_failed", messages=len(fresh))
            return exc
        return None

    async def _record_activity(self) -> None:
        newest, self.activity = list(self.activity.values()), {}
        self.activity_recorded_at = time.monotonic()
        try:
            await record_activity(newest)
        except Exception:
            log.exception("chat.activity_failed", conversations=len(newest))
            for out in newest:  # kept for the next attempt, unless a newer message replaced it
                known = self.activity.get(out.members.id)
                if known is None or known.seq < out.seq:
                    self.activity[out.members.id] = out

    async def _collisions(self, accepted: list[Pending], written: dict[int, Written]) -> list[Pending]:
        """The messages to write again: in a conversation where a number was taken by another writer, that
        message and every later one of the batch (those stored are taken back before anyone saw them), so
        they are stored again in their queue order, after what the other writer stored."""
        first: set[str] = set()
        retry: list[Pending] = []
        for p in accepted:
            conversation_id = p.out.members.id
            if written[id(p)].collided:
                first.add(conversation_id)
            if conversation_id in first:
                retry.append(p)
        stored = [p.out for p in retry if written[id(p)].created]
        if stored:
            await withdraw_unseen(stored)
        return retry

    async def _requeue(self, retry: list[Pending]) -> None:
        """Messages whose seq another writer took: fresh counters, and to the front of the queue."""
        await self.sequencer.forget({p.out.members.id for p in retry})
        again = []
        for p in retry:
            p.collisions += 1
            if p.collisions > COLLISION_RETRIES:
                p.future.set_exception(RuntimeError("the conversation's sequence kept colliding"))
            else:
                again.append(p)
        self.queue[:0] = again
        if again:
            self.wakeup.set()
