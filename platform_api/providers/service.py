"""Provider profiles (tenants): the only writer of ProviderProfile."""

import re
import secrets
import unicodedata

from pymongo.errors import DuplicateKeyError

from platform_api.errors import Conflict
from platform_api.providers.schemas import ProviderSignup
from shared_models.clock import Clock
from shared_models.documents import ProviderProfile, User
from shared_models.ids import parse_object_id

_SLUG_ATTEMPTS = 6


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60].strip("-")
    return slug or "provider"


class ProviderService:
    async def create_for_owner(self, owner: User, signup: ProviderSignup, clock: Clock) -> ProviderProfile:
        assert owner.id is not None
        base = slugify(signup.business_name)
        now = clock.now()
        for attempt in range(_SLUG_ATTEMPTS):
            # The unique index decides slug races; a clash gets a random suffix rather than a count,
            # so concurrent sign-ups of the same name do not keep colliding on "-2".
            slug = base if attempt == 0 else f"{base}-{secrets.token_hex(3)}"
            profile = ProviderProfile(
                owner_id=str(owner.id),
                business_name=signup.business_name,
                slug=slug,
                categories=signup.categories,
                description=signup.description,
                service_area=signup.service_area,
                created_at=now,
                updated_at=now,
            )
            try:
                return await profile.insert()
            except DuplicateKeyError:
                if await self.get_by_owner(str(owner.id)) is not None:
                    raise Conflict("This provider already has a profile.", code="profile_exists") from None
        raise Conflict("Could not allocate a unique profile address; retry.", code="slug_unavailable")

    async def get(self, provider_id: str) -> ProviderProfile | None:
        oid = parse_object_id(provider_id)
        return await ProviderProfile.get(oid) if oid else None

    async def get_by_owner(self, owner_id: str) -> ProviderProfile | None:
        return await ProviderProfile.find_one(ProviderProfile.owner_id == owner_id)

    async def get_by_slug(self, slug: str) -> ProviderProfile | None:
        return await ProviderProfile.find_one(ProviderProfile.slug == slug)

    async def delete_for_owner(self, owner_id: str) -> None:
        await ProviderProfile.find(ProviderProfile.owner_id == owner_id).delete()


provider_service = ProviderService()
