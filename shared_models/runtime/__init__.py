"""Process plumbing both services run: settings, the database registry and change streams, logs,
telemetry (plain ASGI), rate limiting, Redis, and background-task stopping. No domain rule lives here."""
