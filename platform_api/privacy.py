"""What every domain's GDPR part (`<domain>/privacy.py`) shares: the subject, and how a document is exported.

Each domain exports and erases only its own documents (`export_for(subject)` → {section: [documents]},
`erase_for(subject, now)`); the account domain (`platform_api.account.service`) orchestrates them and writes
nothing itself. A leaf module: it imports no domain.
"""

from dataclasses import dataclass
from typing import Any

from beanie import Document

from shared_models.documents import ProviderProfile, User

Section = list[dict[str, Any]]
DELETED_NAME = "Deleted user"  # what a deleted account's name and its provider profile's name become


@dataclass(frozen=True)
class Subject:
    """The account whose data is exported or erased, and its provider profile (None for a customer)."""

    user: User
    profile: ProviderProfile | None

    @property
    def user_id(self) -> str:
        return str(self.user.id)


def public(doc: Document) -> dict[str, Any]:
    """A document as exported: JSON types, stored names, without Beanie's revision or a password hash."""
    data: dict[str, Any] = doc.model_dump(
        mode="json", by_alias=True, exclude={"revision_id", "password_hash"}
    )
    return data


async def find_by(model: type[Document], field: str, value: str | None) -> Section:
    """Every document of `model` whose `field` equals `value` (an indexed equality), exported; none for None.
    Two queries where a user can be either side, never `$or` (the engine scans for it)."""
    return [public(d) for d in await model.find({field: value}).to_list()] if value else []
