"""The chat server's own Prometheus series (the HTTP ones come from shared_models.runtime.telemetry)."""

from prometheus_client import Counter, Gauge, Histogram

SOCKET_CONNECTIONS = Gauge("chat_socket_connections", "Sockets connected to this chat server instance.")
CHAT_EVENTS = Counter(
    "chat_events_total", "Socket.IO events handled, by event and outcome.", ["event", "outcome"]
)
COMMIT_BATCH = Histogram(
    "chat_commit_batch_messages",
    "Messages written per group commit (one batch: two database round trips).",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500),
)
COMMIT_SECONDS = Histogram(
    "chat_commit_seconds",
    "Time to number, store and deliver one batch of messages (not its notifications).",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
