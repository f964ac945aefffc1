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


def canonical_email(address: str, *, strict: bool = True) -> str:
    """The one form in which an email address is stored, compared and used as a key (sign-up, login, the
    login and reset rate-limit keys, password reset, admin search, and everything keyed by `User.email`).

    email-validator's normalisation: surrounding space dropped; the local part in Unicode NFC, so `ü` typed
    as one character or as `u` + U+0308 is the same address; the domain IDNA-mapped and kept in its ASCII
    form (`ascii_domain`), so `BÜCHER.de`, `bücher.de` and `xn--bcher-kva.de` are all `xn--bcher-kva.de` —
    the form every SMTP server and Stripe accept (a Unicode domain needs SMTPUTF8). Then the local part is
    lower-cased: addresses are compared case-insensitively, as the large mailbox providers treat them
    (RFC 5321 § 2.4 lets a host treat case in the local part as significant; none our users sign up with
    do). Deliverability (DNS) is not checked here.

    When email-validator rejects the syntax: raises `InvalidEmail`, or with `strict=False` (logging in and
    asking for a reset, so that an account stored before addresses were validated, e.g. `ops@localhost`,
    is not locked out) answers the address under the same character rules (`canonical_email_prefix`).
    """
    try:
        parts = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        if strict:
            raise InvalidEmail(str(exc)) from None
        return canonical_email_prefix(address)
    return unicodedata.normalize("NFC", parts.local_part.lower()) + "@" + parts.ascii_domain


def canonical_email_prefix(prefix: str) -> str:
    """The start of a canonical address, for prefix search: the character rules of `canonical_email` that
    apply to a fragment (NFC, lower case). A fragment's domain cannot be IDNA-mapped, so a prefix that
    reaches into an internationalised domain matches in its `xn--` form."""
    return unicodedata.normalize("NFC", prefix.strip()).lower()


def after_prefix(prefix: str) -> str | None:
    """The least string greater than every string that starts with `prefix`: its last character's
    successor (None when there is none: no upper bound). Code point order is UTF-8 byte order, so this
    bounds a prefix range on MongoDB and the engine alike, characters above U+FFFF included
    (`prefix + "\uffff"` missed those)."""
    stem = prefix.rstrip(chr(0x10FFFF))
    return stem[:-1] + chr(ord(stem[-1]) + 1) if stem else None


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
