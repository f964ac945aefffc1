"""The chat server's conversation directory: membership cached, block state never trusted past a change."""

import httpx

from chat_server.directory import ConversationDirectory
from shared_models import conversations
from shared_models.clock import ManualClock
from shared_models.enums import Role
from tests.factories import register


async def test_a_change_event_never_hands_back_an_older_block_state(
    api: httpx.AsyncClient, clock: ManualClock
) -> None:
    customer = await register(api, Role.customer)
    provider = await register(api, Role.provider)
    conversation, _ = await conversations.start(
        customer.id, provider.id, provider.body["provider"]["id"], None, clock.now()
    )
    cid = str(conversation.id)
    directory = ConversationDirectory()
    directory.watching = True  # as while the change stream is open
    assert await directory.blocked_now([cid]) == {cid: False}

    await conversations.set_blocked(conversation, provider.id, True)
    directory.changed(cid)  # the platform's call
    assert await directory.blocked_now([cid]) == {cid: True}
    # An event from before the block, applied late (the engine's events carry the document as it was):
    # the state is forgotten, not replaced, so the next question reads the database again.
    stale = {"customer_blocked": False, "provider_blocked": False}
    directory.changed(cid, stale)
    assert directory.entries[cid].blocked is None
    assert await directory.blocked_now([cid]) == {cid: True}
    # An event that shows the known state (the conversation's activity moved) keeps the cache.
    directory.changed(cid, {"customer_blocked": False, "provider_blocked": True})
    assert directory.entries[cid].blocked is True
    # Membership is answered for participants only.
    assert await directory.members(cid, customer.id) is not None
    assert await directory.members(cid, "f" * 24) is None
    assert await directory.members("not-an-id", customer.id) is None
