"""The commit loop's promise to senders: an ok ack means stored, handed to delivery and notified. A batch
whose notifications failed is answered with that failure (the app resends; the resend finds the stored
message and is notified)."""

import asyncio
from collections.abc import Sequence

import httpx
from pymongo.errors import AutoReconnect

from chat_server.committer import Committed, MessageCommitter
from chat_server.sequencer import MemorySequencer
from shared_models.clock import ManualClock
from shared_models.documents import Message
from shared_models.services.conversations import Outgoing
from tests.chat_server.test_sequencer import _members, _outgoing


async def test_a_batch_whose_notifications_failed_is_not_acked_ok_and_its_resend_is_notified(
    api: httpx.AsyncClient, clock: ManualClock
) -> None:
    members = await _members(api, clock)
    notified: list[list[str]] = []
    failing = True

    async def deliver(_: Sequence[Committed]) -> None:
        return None

    async def notify(batch: Sequence[Committed]) -> None:
        if failing:
            raise AutoReconnect("the database went away")
        notified.append([c.out.client_id for c in batch])

    async def unblocked(ids: Sequence[str]) -> dict[str, bool]:
        return dict.fromkeys(ids, False)

    committer = MessageCommitter(MemorySequencer(), unblocked, deliver, notify)
    running = asyncio.create_task(committer.run())
    try:
        batch = _outgoing(members, 3, clock)
        results = await asyncio.gather(*(committer.submit(o, "sid") for o in batch), return_exceptions=True)
        assert all(isinstance(r, AutoReconnect) for r in results), results
        assert await Message.find({"conversation_id": members.id}).count() == 3  # stored all the same

        failing = False
        again = [Outgoing(members, o.sender_id, o.body, [], o.client_id, clock.now()) for o in batch]
        resent = await asyncio.gather(*(committer.submit(o, "sid") for o in again))
    finally:
        running.cancel()
    assert all(not r.written.created and r.written.original is not None for r in resent)
    assert sorted(c for batch_ids in notified for c in batch_ids) == sorted(o.client_id for o in batch)
