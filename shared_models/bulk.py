"""Bulk inserts where a unique index makes repeats no-ops (retries, sweepers, imports)."""

from collections.abc import Mapping
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

DUPLICATE_KEY = 11000


async def insert_new(collection: AsyncCollection[Any], docs: list[Mapping[str, Any]]) -> int:
    """Insert what is not there yet (one unordered round trip); returns how many were new. Any error other
    than a duplicate key is raised."""
    if not docs:
        return 0
    try:
        await collection.insert_many(docs, ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(e.get("code") != DUPLICATE_KEY for e in errors):
            raise
        return len(docs) - len(errors)
    return len(docs)
