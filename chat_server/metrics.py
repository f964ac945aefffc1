"""The chat server's own Prometheus series (the HTTP ones come from shared_models.telemetry)."""

from prometheus_client import Counter, Gauge

SOCKET_CONNECTIONS = Gauge("chat_socket_connections", "Sockets connected to this chat server instance.")
CHAT_EVENTS = Counter(
    "chat_events_total", "Socket.IO events handled, by event and outcome.", ["event", "outcome"]
)
