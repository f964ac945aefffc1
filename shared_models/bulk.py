"""Transitional: `insert_new` lives in `shared_models.store` now (taking the document class). This shape,
taking a raw collection, stays only for platform_api/billing/webhook.py, being split while the store landed;
delete it once the webhook calls `store.insert_new` (tests/test_store.py allows it until then)."""

from collections.abc import Mapping
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from shared_models import store

DUPLICATE_KEY = store.DUPLICATE_KEY


async def insert_new(collection: AsyncCollection[Any], docs: list[Mapping[str, Any]]) -> int:
    """Insert what is not there yet (one unordered round trip); returns how many were new."""
    return len(await store._insert_new(collection, docs))
