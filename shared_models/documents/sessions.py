"""Revoked session tokens, kept only until the token would have expired anyway (TTL index)."""

from datetime import datetime
from typing import Annotated

from beanie import Document, Indexed, PydanticObjectId
from pymongo import ASCENDING, IndexModel


class RevokedSession(Document):
    jti: Annotated[str, Indexed(unique=True)]
    user_id: PydanticObjectId
    revoked_at: datetime
    expires_at: datetime

    class Settings:
        name = "revoked_sessions"
        indexes = [IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0)]
