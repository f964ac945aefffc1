"""A conversation's block generation in Redis (with REDIS_URL): bumped by whoever changes a block, after the
change is stored and before it answers (the platform), and read by every chat-server instance before it
writes a batch of messages (`chat_server.directory`): a state cached at an older generation is read again.
So a message sent after a block call has returned is refused on every instance, whichever instance the
platform could reach. Keys live beside the chat server's other shared state: `chat:<REDIS_CHANNEL>:…`.
"""

from collections.abc import Sequence

from redis.asyncio import Redis

KEPT_SECONDS = 7 * 24 * 3600  # an idle conversation's generation expires: its cached states are gone by then


def chat_prefix(channel: str) -> str:
    """The prefix of the chat server's shared state in Redis for a deployment's Socket.IO channel."""
    return f"chat:{channel}"


def _key(prefix: str, conversation_id: str) -> str:
    return f"{prefix}:conversation-generation:{conversation_id}"


async def bump(redis: Redis, prefix: str, conversation_id: str) -> None:
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(_key(prefix, conversation_id))
        pipe.expire(_key(prefix, conversation_id), KEPT_SECONDS)
        await pipe.execute()


async def current(redis: Redis, prefix: str, conversation_ids: Sequence[str]) -> list[int]:
    """Each conversation's generation (0 if never bumped), in one round trip."""
    values = await redis.mget([_key(prefix, c) for c in conversation_ids])
    return [int(v) if v is not None else 0 for v in values]
