"""Compare-and-set by whole-document replacement: the one way both services change a document under a
guard (id + version, or + state, + deadline ...).

Replace, not `$set`/`$push`: the embedded engine stores a `$push`-ed subdocument and a `$set` top-level
datetime as strings (see README, "Engine notes"); a replacement is atomic on MongoDB and the engine alike.
"""

from typing import Any

from beanie import Document
from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError


async def replace_if(query: dict[str, Any], after: Document) -> dict[str, Any] | None:
    """Replace the one document matching `query` with `after`; the stored document, or None when nothing
    matched (someone else changed it first)."""
    stored: dict[str, Any] | None = (
        await type(after)
        .get_pymongo_collection()
        .find_one_and_replace(
            query,
            after.model_dump(by_alias=True, exclude={"id", "revision_id"}),
            return_document=ReturnDocument.AFTER,
        )
    )
    return stored


async def claim_window(collection: AsyncCollection[Any], key: str, now_key: str, until_key: str) -> bool:
    """Claim `key` until `until_key` unless an earlier claim still runs at `now_key` (keys are sortable time
    strings): one atomic upsert on the unique `key`. True if this call holds the claim.

    When the key exists and its window still runs, the upsert's insert collides with the unique index:
    MongoDB raises DuplicateKeyError, while the embedded engine answers None. Both mean "not yours"."""
    try:
        claimed = await collection.find_one_and_update(
            {"key": key, "until_key": {"$lte": now_key}},
            {"$set": {"until_key": until_key}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
    except DuplicateKeyError:
        return False
    return claimed is not None
