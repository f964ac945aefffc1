"""The platform REST API (FastAPI): auth, providers, search, bookings, billing, disputes, admin."""
