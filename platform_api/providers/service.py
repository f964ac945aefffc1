"""Provider profiles (tenants): the only writer of ProviderProfile."""

import math
import re
import secrets
import unicodedata
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import structlog
from beanie import PydanticObjectId
from pydantic import BaseModel, Field
from pymongo.errors import DuplicateKeyError

from platform_api.entitlements import subscriptions
from platform_api.entitlements.subscriptions import Standing
from platform_api.entitlements.tiers import ENTITLEMENTS
from platform_api.errors import ConcurrentUpdate
from platform_api.providers.errors import (
    EditWithoutProfile,
    ProfileExists,
    ProviderNotFound,
    SlugUnavailable,
    TierLimit,
)
from platform_api.providers.schemas import ProviderSignup, ProviderUpdate
from platform_api.search.coverage import EMPTY_BOX, cos_of_km, cover, reach_box, unit_vector
from platform_api.search.ranking import rating_bonus_km, stratum_of
from shared_models import store
from shared_models.clock import Clock
from shared_models.documents import ProviderCoverage, ProviderProfile, ServiceArea, User
from shared_models.ids import parse_object_id

log = structlog.get_logger(__name__)
_EDIT_ATTEMPTS = 5
# What search shows of a profile: a change to any of these rebuilds its coverage rows.
LISTED_FIELDS = ("service_area", "categories", "business_name", "price_from", "rating_count", "rating_sum")
STALE_INDEX = timedelta(seconds=30)


def standing_fields(area: ServiceArea, standing: Standing) -> dict[str, Any]:
    """The standing part of a coverage row (see ProviderCoverage): the tier and its ranking stratum while
    the subscription is in good standing, the version it came from, and the reach — the radius, capped by
    the tier's maximum radius (a tier that went down after the area was set bounds it) — as the cosine
    the page plan compares with, and as the box (degrees) the whole ranking's lookup prefilters on. A
    provider not in good standing gets an empty box: no lookup returns its rows."""
    tier = standing.tier
    reach = area.radius_km if tier is None else min(area.radius_km, ENTITLEMENTS[tier].max_service_radius_km)
    box = reach_box(area.lat, area.lng, reach) if tier is not None else EMPTY_BOX
    return {
        "tier": tier.value if tier is not None else None,
        "stratum": stratum_of(tier).value if tier is not None else None,
        "standing_version": standing.version,
        "cos_reach": cos_of_km(reach),
        **box,
    }


def coverage_rows(profile: ProviderProfile, standing: Standing) -> list[dict[str, Any]]:
    """The profile's search rows, as stored: one per H3 cell of its area, each carrying what search filters,
    ranks and shows, and the provider's standing."""
    area = profile.service_area
    if area is None:
        return []
    x, y, z = unit_vector(area.lat, area.lng)
    listing = {
        "provider_id": str(profile.id),
        "owner_id": profile.owner_id,
        "area_version": profile.area_version,
        "lat": area.lat,
        "lng": area.lng,
        "radius_km": area.radius_km,
        "categories": [c.value for c in profile.categories],
        "business_name": profile.business_name,
        "slug": profile.slug,
        "price_from": profile.price_from.model_dump() if profile.price_from else None,
        "rating_count": profile.rating_count,
        "rating_sum": profile.rating_sum,
        **standing_fields(area, standing),
        "x": x,
        "y": y,
        "z": z,
        "bonus_km": rating_bonus_km(profile.rating_count, profile.rating_sum),
        "serves": {c.value: True for c in profile.categories},
        "rating_weight": max(profile.rating_count, 1),
    }
    return [{"cell": cell, **listing} for cell in cover(area.lat, area.lng, area.radius_km)]


def _same(stored: Any, value: Any) -> bool:
    """A stored value equals what would be written (the embedded engine keeps 15 significant digits of a
    float, MongoDB all 17)."""
    if isinstance(stored, float) and isinstance(value, float):
        return math.isclose(stored, value, rel_tol=1e-12)
    return bool(stored == value)


_SLUG_ATTEMPTS = 6


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60].strip("-")
    return slug or "provider"


class _Owned(BaseModel):
    id: PydanticObjectId = Field(alias="_id")
    owner_id: str


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
                price_from=signup.price_from,
                index_pending_since=now,
                created_at=now,
                updated_at=now,
            )
            try:
                await profile.insert()
            except DuplicateKeyError:
                if await self.get_by_owner(str(owner.id)) is not None:
                    raise ProfileExists() from None
                continue
            await self.index_listing(profile)
            return profile
        raise SlugUnavailable()

    async def update(self, owner_id: str, changes: ProviderUpdate, clock: Clock) -> ProviderProfile:
        """Edit the owner's profile (compare-and-set on its version); a new area is re-indexed for search."""
        updates = changes.model_dump(exclude_unset=True)
        profile = await self.get_by_owner(owner_id)
        if profile is None:
            raise EditWithoutProfile()

        async def edit(current: ProviderProfile) -> ProviderProfile:
            await self._check_entitlements(current, changes)
            # Validated as a whole before it is written: a partial edit can never store an invalid profile.
            edited: ProviderProfile = ProviderProfile.model_validate(
                {**current.model_dump(), **{k: getattr(changes, k) for k in updates}}
            )
            return edited

        updated = await self._edit(str(profile.id), edit, clock.now())
        log.info("provider.updated", provider_id=str(profile.id), fields=sorted(updates))
        return updated

    async def set_rating(self, provider_id: str, count: int, total: int, now: datetime) -> bool:
        """Store the published-review aggregate. Published reviews only ever grow, so a count lower than
        (or equal to) the stored one is an older computation and is ignored: concurrent publications end
        with the newest aggregate whatever order they finish in. Returns whether it changed."""

        async def edit(current: ProviderProfile) -> ProviderProfile | None:
            if current.rating_count >= count:
                return None
            rated: ProviderProfile = current.model_copy(update={"rating_count": count, "rating_sum": total})
            return rated

        profile = await self._edit(provider_id, edit, now)
        return profile.rating_count == count and profile.rating_sum == total

    async def set_verified(
        self, provider_id: str, verified: bool, now: datetime
    ) -> tuple[ProviderProfile, bool]:
        """Mark verified or not; returns the profile and whether this call changed it (False when it already
        was so, a concurrent call's change included)."""
        made: list[ProviderProfile] = []

        async def edit(current: ProviderProfile) -> ProviderProfile | None:
            made.clear()
            if current.verified == verified:
                return None
            changed: ProviderProfile = current.model_copy(
                update={"verified": verified, "verified_at": now if verified else None}
            )
            made.append(changed)
            return changed

        after = await self._edit(provider_id, edit, now)
        return after, bool(made) and after is made[0]

    async def _edit(
        self,
        provider_id: str,
        change: Callable[[ProviderProfile], Awaitable[ProviderProfile | None]],
        now: datetime,
    ) -> ProviderProfile:
        """The one way a profile changes: compare-and-set on its version, retried on a concurrent edit; a
        change to what search shows bumps `area_version` and rebuilds the coverage rows. `change` returns
        None when there is nothing to do."""
        for _ in range(_EDIT_ATTEMPTS):
            profile = await self.get(provider_id)
            if profile is None:
                raise ProviderNotFound()
            edited = await change(profile)
            if edited is None:
                return profile
            edited.version = profile.version + 1
            edited.updated_at = now
            if any(getattr(edited, f) != getattr(profile, f) for f in LISTED_FIELDS):
                edited.area_version = profile.area_version + 1
                edited.index_pending_since = now
            replaced = await store.replace_if({"_id": profile.id, "version": profile.version}, edited)
            if replaced is None:
                continue  # a concurrent edit won: apply ours to the newer profile
            if edited.area_version != profile.area_version:
                await self.index_listing(edited)
            return edited
        raise ConcurrentUpdate("The profile is being edited elsewhere; retry.")

    async def _check_entitlements(self, profile: ProviderProfile, changes: ProviderUpdate) -> None:
        """A subscribed provider's edits stay within its tier (search also caps the reach by tier)."""
        subscription = await subscriptions.get_for_provider(str(profile.id))
        if subscription is None or not subscription.entitled:
            return
        allowed = ENTITLEMENTS[subscription.tier]
        if changes.categories is not None and len(changes.categories) > allowed.max_categories:
            raise TierLimit(
                f"The {subscription.tier.value} tier allows {allowed.max_categories} categories.",
                field="categories",
            )
        area = changes.service_area
        if area is not None and area.radius_km > allowed.max_service_radius_km:
            raise TierLimit(
                f"The {subscription.tier.value} tier allows a radius of {allowed.max_service_radius_km:g} km.",
                field="service_area.radius_km",
            )

    async def index_listing(self, profile: ProviderProfile) -> int:
        """Rebuild the provider's coverage rows for `profile.area_version`; returns how many it wrote.

        Drops the provider's rows (every version's), writes this version's, then checks the profile has not
        moved on meanwhile (if it has, a newer rebuild owns the rows: ours go). Either order of two
        concurrent rebuilds ends with only the newest version's rows. While it runs the provider is briefly missing
        from search, never shown for an area it no longer covers."""
        pid, version = str(profile.id), profile.area_version
        stale = ProviderCoverage.find
        # Every version's rows, this one's too: a rebuild that crashed after writing them is finished by the
        # sweeper writing them again, and a listing must never be counted twice.
        await stale({"provider_id": pid}).delete()
        standing = await subscriptions.standing(pid)
        rows = coverage_rows(profile, standing)
        if rows:
            await store.insert_all(ProviderCoverage, rows)
        current = await ProviderProfile.get(profile.id)
        if current is None or current.area_version != version:
            await stale({"provider_id": pid, "area_version": version}).delete()
            return 0
        if (await subscriptions.standing(pid)).version != standing.version:
            await self.project_standing(pid)  # the webhook's projection may have missed the rows just written
        await store.update_one(
            ProviderProfile,
            {"_id": profile.id, "area_version": version},
            {"$set": {"index_pending_since": None}},
        )
        return len(rows)

    async def project_standing(self, provider_id: str) -> int:
        """Carry the provider's subscription standing onto its coverage rows (called by the billing webhook
        after every subscription write it makes, by a listing rebuild that raced one, and by the drift check);
        returns how many rows it changed.

        Idempotent and order-proof: it reads the subscription now and writes only rows whose projection is
        no newer (`standing_version` ≤ the version read), in one `update_many` — so two projections racing
        end with the newer one, whatever order their writes land in. Rows are matched on the profile's
        current `area_version` (their reach depends on its radius); a rebuild in flight re-checks the
        standing after it writes its rows."""
        standing = await subscriptions.standing(provider_id)
        profile = await self.get(provider_id)
        if profile is None or profile.service_area is None:
            return 0
        result = await store.update_many(
            ProviderCoverage,
            {
                "provider_id": provider_id,
                "area_version": profile.area_version,
                "standing_version": {"$lte": standing.version},
            },
            {"$set": standing_fields(profile.service_area, standing)},
        )
        return result.modified

    async def standing_drift(self, provider_id: str) -> bool:
        """The daily drift check's part for search: True (after repairing it) when a coverage row of the
        provider carries another standing than its subscription's."""
        standing = await subscriptions.standing(provider_id)
        profile = await self.get(provider_id)
        if profile is None or profile.service_area is None:
            return False
        expected = standing_fields(profile.service_area, standing)
        rows = await store.read_many(
            ProviderCoverage, {"provider_id": provider_id, "area_version": profile.area_version}
        )
        drifted = [r for r in rows if not all(_same(r.get(k), v) for k, v in expected.items())]
        if not drifted:
            return False
        log.warning(
            "search.standing_drift",
            provider_id=provider_id,
            rows=len(drifted),
            stored=drifted[0].get("tier"),
            expected=expected["tier"],
        )
        # Rows claiming a newer version than the subscription has (written by hand) are put back to it; a
        # projection racing this one is re-run after it, so a newer standing still wins.
        await store.update_many(
            ProviderCoverage,
            {
                "provider_id": provider_id,
                "area_version": profile.area_version,
                "standing_version": {"$gt": standing.version},
            },
            {"$set": expected},
        )
        await self.project_standing(provider_id)  # rewrites rows at the same version too
        return True

    async def listed_without_standing(self) -> int:
        """The drift check's other half: rows that show a provider (a non-empty reach box) although no
        subscription was ever projected onto them (`standing_version` 0) are re-projected; returns how many
        providers that concerned."""
        rows = await store.read_many(
            ProviderCoverage, {"standing_version": 0, "south": {"$lte": 90.0}}, {"provider_id": 1}
        )
        providers = sorted({row["provider_id"] for row in rows})
        for provider_id in providers:
            log.warning("search.standing_drift", provider_id=provider_id, stored="listed", expected=None)
            await self.project_standing(provider_id)
        return len(providers)

    async def reindex_stale(self, now: datetime) -> int:
        """The sweeper: finish every rebuild a crash interrupted. Safe to run any number of times."""
        stuck = await ProviderProfile.find({"index_pending_since": {"$lte": now - STALE_INDEX}}).to_list()
        for profile in stuck:
            await self.index_listing(profile)
        return len(stuck)

    async def erase(self, profile: ProviderProfile, name: str) -> None:
        """Account deletion: the profile keeps its id (bookings point at it) and nothing else; out of search."""
        await ProviderCoverage.find({"provider_id": str(profile.id)}).delete()
        await store.update_one(
            ProviderProfile,
            {"_id": profile.id},
            {
                "$set": {
                    "business_name": name,
                    "slug": f"deleted-{profile.id}",
                    "description": "",
                    "service_area": None,
                    "price_from": None,
                    "version": profile.version + 1,
                    "area_version": profile.area_version + 1,
                }
            },
        )

    async def get(self, provider_id: str) -> ProviderProfile | None:
        oid = parse_object_id(provider_id)
        return await ProviderProfile.get(oid) if oid else None

    async def get_by_owner(self, owner_id: str) -> ProviderProfile | None:
        return await ProviderProfile.find_one(ProviderProfile.owner_id == owner_id)

    async def ids_by_owner(self, owner_ids: list[str]) -> dict[str, str]:
        """The profile id of each of these users who owns one, in one read (an admin page of accounts).

        One `$in` rather than one lookup per user: MongoDB serves it from the unique owner_id index; the
        embedded engine scans the profiles for it (README, "Engine notes"), acceptable for an admin page and not
        used on any hot path."""
        if not owner_ids:
            return {}
        found = await ProviderProfile.find({"owner_id": {"$in": owner_ids}}).project(_Owned).to_list()
        return {row.owner_id: str(row.id) for row in found}

    async def get_by_slug(self, slug: str) -> ProviderProfile | None:
        return await ProviderProfile.find_one(ProviderProfile.slug == slug)

    async def delete_for_owner(self, owner_id: str) -> None:
        profile = await self.get_by_owner(owner_id)
        if profile is not None:
            await ProviderCoverage.find(ProviderCoverage.provider_id == str(profile.id)).delete()
        await ProviderProfile.find(ProviderProfile.owner_id == owner_id).delete()


provider_service = ProviderService()
