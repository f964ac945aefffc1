"""Single-use account tokens: email verification and password reset links."""

from datetime import datetime
from typing import Annotated

from beanie import Document, Indexed
from pymongo import ASCENDING, IndexModel

from shared_models.ids import Ref


class AccountToken(Document):
    """A link's token, stored only as its SHA-256; consumed once (compare-and-set on `used`)."""

    token_hash: Annotated[str, Indexed(unique=True)]
    user_id: Ref
    purpose: str  # verify_email | reset_password
    used: bool = False
    expires_at: datetime  # TTL: gone a while after it stops working

    class Settings:
        name = "account_tokens"
        indexes = [IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=86400)]
