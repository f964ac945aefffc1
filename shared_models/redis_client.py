"""A Redis client for idempotent commands, which survives a Redis restart.

A pooled connection does not survive a Redis restart: its next command fails with "Connection closed by
server" although Redis is back (redis-py 8 retries nothing by default; measured here: the first command
after a restart fails every time). This client retries a command that failed on a dropped or refused
connection at once, twice, on a fresh connection; an outage still raises after that.

Only for commands that may run twice (a reply lost after the command ran means it runs again): the
platform's block-generation bump (a SET). The chat server's own client (sequences, ordered delivery) does
not retry: a failure there is answered `service_unavailable` and the app resends.
"""

from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError, TimeoutError

RETRIES = 2


def redis_client(url: str, **options: Any) -> Redis:
    """A client for `url` (`redis://…`) that retries a command on a connection error (see the module)."""
    return Redis.from_url(
        url,
        retry=Retry(NoBackoff(), RETRIES),
        retry_on_error=[ConnectionError, TimeoutError],
        socket_timeout=2.0,  # a Redis that stops answering fails the command instead of hanging the caller
        socket_connect_timeout=1.0,
        **options,
    )
