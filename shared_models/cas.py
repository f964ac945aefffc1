"""Compare-and-set by whole-document replacement: the one way both services change a document under a
guard (id + version, or + state, + deadline ...).

Replace, not `$set`/`$push`: the embedded engine stores a `$push`-ed subdocument and a `$set` top-level
datetime as strings (see README, "Engine notes"); a replacement is atomic on MongoDB and the engine alike.
"""

from typing import Any

from beanie import Document
from pymongo import ReturnDocument


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
