"""User accounts: customers, providers (tenant owners) and admins."""

import unicodedata
from datetime import datetime
from typing import Annotated

from beanie import Document, Indexed
from email_validator import EmailNotValidError, validate_email
from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from shared_models.enums import Role, UserStatus


class InvalidEmail(ValueError):
    """Not an email address we can deliver to; the message is email-validator's reason."""


def canonical_email(address: str) -> str:
    """The one form in which an email address is stored, compared and used as a key (sign-up, login, the
    login and reset rate-limit keys, password reset, admin search, and everything keyed by `User.email`).

    email-validator's normalisation (surrounding space dropped; the local part in Unicode NFC, so `ü` typed
    as one character or as `u` + U+0308 is the same address; the domain IDNA-mapped to lower-case Unicode,
    so `BÜCHER.de` and `xn--bcher-kva.de` are `bücher.de`), then the local part lower-cased: addresses are
    compared case-insensitively, as the large mailbox providers treat them (RFC 5321 § 2.4 lets a host
    treat case in the local part as significant; none that our users sign up with do).
    Deliverability (DNS) is not checked here.

    Raises `InvalidEmail` when email-validator rejects the syntax.
    """
    try:
        parts = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(str(exc)) from None
    return unicodedata.normalize("NFC", parts.local_part.lower()) + "@" + parts.domain


def canonical_email_prefix(prefix: str) -> str:
    """The start of a canonical address, for prefix search: the same character rules as `canonical_email`
    that apply to a fragment (NFC, lower case; a fragment's domain cannot be IDNA-mapped, so a prefix that
    reaches into a domain matches as typed in Unicode, not in its `xn--` form)."""
    return unicodedata.normalize("NFC", prefix.strip()).lower()


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
