"""How both services open Redis clients: with bounded waits always, and with retries for idempotent commands.

Bounded waits (`TIMEOUTS`): a Redis that stops answering (hung, or a network partition) fails a command
instead of leaving its caller waiting for good: the chat server answers `service_unavailable`, the rate
limiter falls back to local counting.

Retries (`retry=True`): a pooled connection does not survive a Redis restart: its next command fails with
"Connection closed by server" although Redis is back (redis-py 8 retries nothing by default; measured here:
the first command after a restart fails every time). Such a command is retried at once, twice, on a fresh
connection; an outage still raises after that. Only for commands that may run twice (a reply lost after the
command ran means it runs again): the platform's block-generation bump (a SET). The chat server's own client
(sequences, ordered delivery) does not retry: a failure there is answered `service_unavailable` and the app
resends; after a restart it drops its whole pool at once (`chat_server.app`).
"""

from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError, TimeoutError

RETRIES = 2
# The longest a command may wait for its answer, and for a connection (no command of ours blocks).
TIMEOUTS: dict[str, Any] = {"socket_timeout": 2.0, "socket_connect_timeout": 1.0}


def redis_client(url: str, *, retry: bool = False, **options: Any) -> Redis:
    """A client for `url` (`redis://…`) with bounded waits, retrying a command on a connection error if
    `retry` (see the module); `options` go to redis-py (e.g. `decode_responses`)."""
    if retry:
        options |= {"retry": Retry(NoBackoff(), RETRIES), "retry_on_error": [ConnectionError, TimeoutError]}
    return Redis.from_url(url, **TIMEOUTS, **options)
