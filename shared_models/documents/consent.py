"""The consent ledger: what a user agreed to, when, from where. Append-only; current consent is derived."""

from datetime import datetime

from beanie import Document
from pymongo import ASCENDING, DESCENDING, IndexModel

from shared_models.ids import Ref


class ConsentRecord(Document):
    user_id: Ref
    kind: str  # terms | privacy | marketing_email | email:<notification type>
    granted: bool
    version: str | None = None  # the document version agreed to (terms, privacy)
    source: str  # signup | settings | unsubscribe
    ip: str | None = None
    user_agent: str | None = None
    at: datetime
    at_key: str  # time_key(at): latest first per kind

    class Settings:
        name = "consent_ledger"
        indexes = [
            IndexModel([("user_id", ASCENDING)]),
            IndexModel([("user_id", ASCENDING), ("at_key", DESCENDING)]),
            IndexModel([("user_id", ASCENDING), ("kind", ASCENDING)]),
            IndexModel([("user_id", ASCENDING), ("kind", ASCENDING), ("at_key", DESCENDING)]),
        ]
