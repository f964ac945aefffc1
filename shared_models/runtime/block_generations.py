"""A conversation's block generation in Redis (with REDIS_URL): bumped by whoever changes a block, after the
change is stored and before it answers (the platform), and read by every chat-server instance before it
writes a batch of messages (`chat_server.directory`): a state cached at an older generation is read again.
So a message sent after a block call has returned is refused on every instance, whichever instance the
platform could reach. Keys live beside the chat server's other shared state: `chat:<REDIS_CHANNEL>:…`.
"""

import secrets
from collections.abc import Sequence

from redis.asyncio import Redis

KEPT_SECONDS = 7 * 24 * 3600  # an idle conversation's generation expires (then reads as "")
UNKNOWN = ""  # no bump known


def chat_prefix(channel: str) -> str:
    """The prefix of the chat server's shared state in Redis for a deployment's Socket.IO channel."""
    return f"chat:{channel}"


def _key(prefix: str, conversation_id: str) -> str:
    return f"{prefix}:conversation-generation:{conversation_id}"


async def bump(redis: Redis, prefix: str, conversation_id: str) -> None:
    """Give the conversation a new generation (one command)."""
    await redis.set(_key(prefix, conversation_id), secrets.token_hex(12), ex=KEPT_SECONDS)


async def current(redis: Redis, prefix: str, conversation_ids: Sequence[str]) -> list[str]:
    """Each conversation's generation (UNKNOWN if none is known), in one round trip."""
    values = await redis.mget([_key(prefix, c) for c in conversation_ids])
    return [(v.decode() if isinstance(v, bytes) else str(v)) if v is not None else UNKNOWN for v in values]
