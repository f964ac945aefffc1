"""Creates sent with an `Idempotency-Key` (Stripe's semantics): claimed by the first call, then holding its
response for replays, for 24 h (TTL index)."""

from datetime import datetime
from typing import Annotated, Literal

from beanie import Document, Indexed
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from shared_models.ids import Ref


class IdempotentRequest(Document):
    # sha256 of the account id and the client's key: keys are scoped per account, and the unique index is
    # the arbiter between concurrent first calls (exactly one insert wins).
    key: Annotated[str, Indexed(unique=True)]
    user_id: Ref
    idempotency_key: str = Field(max_length=255)  # as the client sent it
    # sha256 of method, path, query and the body in canonical JSON: the same key with another request is
    # refused, not replayed.
    fingerprint: str
    # The call that holds the key: a random token, so that only it completes or releases the claim.
    claim: str
    state: Literal["started", "done"]
    started_at: datetime  # a started claim older than the lease is taken over (its call died)
    status_code: int | None = None
    body: str | None = None  # the first response's body (JSON text)
    headers: dict[str, str] = Field(default_factory=dict)  # the first response's own headers
    created_at: datetime
    expires_at: datetime

    class Settings:
        name = "idempotent_requests"
        indexes = [
            IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0),
            IndexModel([("user_id", ASCENDING)]),  # the GDPR export and account deletion
        ]
