"""References between documents.

A document's own `_id` is an ObjectId, but every reference to another document is stored as the 24-hex
string of that id. Reason: the embedded engine (nx-27017) cannot match an ObjectId in a non-`_id` field
(its SQLite binding rejects the type, so `{"owner_id": ObjectId(...)}` silently matches nothing), while
strings index and match identically on MongoDB and on the engine.
"""

from typing import Annotated

from pydantic import StringConstraints

Ref = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{24}$")]
