"""Chat server settings: the same environment variables as the platform for what they share."""

from pydantic import Field

from shared_models.runtime.settings import CommonSettings


class ChatSettings(CommonSettings):
    chat_host: str = "127.0.0.1"
    chat_port: int = 8001
    chat_cors_origins: list[str] = Field(
        default_factory=lambda: ["http://localhost:5173", "http://127.0.0.1:5173", "http://127.0.0.1:8000"]
    )
    readiness_timeout_seconds: float = Field(default=2.0, gt=0)
    # With Redis: how long a dead instance's sockets keep counting (online, engaged); refreshed at a third of it.
    presence_ttl_seconds: float = Field(default=60.0, ge=1)
    # Per-user limits (the `limits` notation): beyond them the event is acked with `rate_limited`.
    # 60 in 10 s: an app flushing an offline queue of a few dozen messages is not refused.
    chat_message_rate: str = "60/10 seconds"
    chat_typing_rate: str = "20/10 seconds"  # typing starts only: a stop is never refused
    # Reads (`message:read`) and `conversation:join`: each costs the database a write or a read.
    chat_event_rate: str = "120/10 seconds"
    # Garbage collection: allocations between two collections of the youngest generation (Python's default
    # is 700). Higher: fewer pauses, a little more memory between collections (see app.tune_collector).
    chat_gc_gen0_threshold: int = Field(default=50_000, ge=700)
