"""User accounts: customers, providers (tenant owners) and admins."""

from datetime import datetime
from typing import Annotated

from beanie import Document, Indexed
from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from shared_models.enums import Role, UserStatus


def normalise_email(email: str) -> str:
    """Emails are compared case-insensitively everywhere; the stored form is the lowercase one."""
    return email.strip().lower()


class User(Document):
    email: Annotated[str, Indexed(unique=True)]
    password_hash: str
    role: Role
    status: UserStatus = UserStatus.active
    display_name: str = Field(max_length=100)
    email_verified: bool = False
    # A session carries the generation it was issued at (its token's `gen`) and is refused once this moved
    # on: a password reset, a suspension or a deletion increments it, in the same write. Exact whatever the
    # interleaving (a whole-second cutoff left sessions issued in the same second born dead).
    session_generation: int = 0
    # Sessions issued (iat, unix seconds) before this moment are refused. Only read, for tokens issued
    # before `session_generation` existed (they carry no `gen`); never written any more.
    sessions_valid_after: int = 0
    # False from the user's insert until its consents (and a provider's profile) are written too: an
    # incomplete account cannot log in, and a sweep removes one a crash or outage left behind.
    complete: bool = True
    created_at: datetime
    updated_at: datetime

    class Settings:
        name = "users"
        indexes = [
            IndexModel([("role", ASCENDING), ("created_at", DESCENDING)]),
            IndexModel([("complete", ASCENDING)]),
        ]
