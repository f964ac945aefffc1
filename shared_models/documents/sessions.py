"""Revoked session tokens, kept only until the token would have expired anyway (TTL index)."""

from datetime import datetime
from typing import Annotated

from beanie import Document, Indexed
from pymongo import ASCENDING, IndexModel

from shared_models.ids import Ref


class RevokedSession(Document):
    jti: Annotated[str, Indexed(unique=True)]
    user_id: Ref
    revoked_at: datetime
    expires_at: datetime

    class Settings:
        name = "revoked_sessions"
        indexes = [
            IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0),
            IndexModel([("user_id", ASCENDING)]),  # the session cache reads a user's revocations at once
        ]
