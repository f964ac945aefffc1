"""References between documents.

A document's own `_id` is an ObjectId, but every reference to another document is stored as the 24-hex
string of that id. Reason: the embedded engine (nx-27017) cannot match an ObjectId in a non-`_id` field
(its SQLite binding rejects the type, so `{"owner_id": ObjectId(...)}` silently matches nothing), while
strings index and match identically on MongoDB and on the engine.
"""

from datetime import UTC, datetime
from typing import Annotated

from beanie import PydanticObjectId
from bson import ObjectId
from bson.errors import InvalidId
from pydantic import StringConstraints

Ref = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{24}$")]
# A `sortable_key` as a cursor carries it back: ASCII digits within the calendar's ranges. Never `\d`,
# which the API's regex engine (pydantic-core's) matches in any script: a key spelled "٢٠٢٦…", or one of
# month 99, passed as a cursor and, compared as a string bound, paged from a place no page ended at.
SORTABLE_KEY = (
    r"[0-9]{4}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
    r"T(?:[01][0-9]|2[0-3])[0-5][0-9][0-5][0-9]\.[0-9]{6}-[0-9a-f]{24}"
)
SORTABLE_KEY_PATTERN = rf"^{SORTABLE_KEY}$"


def time_key(at: datetime) -> str:
    """A moment as a fixed-width string that sorts like the moment. Ranges on it work everywhere, while
    the embedded engine's aggregation `$match` finds nothing for a range on a stored datetime."""
    return (at.astimezone(UTC) if at.tzinfo else at).strftime("%Y%m%dT%H%M%S.%f")


def sortable_key(at: datetime, oid: ObjectId) -> str:
    """A time and an id as one string that sorts by time and is unique: the basis of every cursor."""
    return f"{time_key(at)}-{oid}"


def parse_object_id(value: str) -> PydanticObjectId | None:
    """An id from a URL or a payload, or None when it is not one (callers answer 404, never 500)."""
    try:
        return PydanticObjectId(value)
    except (InvalidId, TypeError):
        return None
