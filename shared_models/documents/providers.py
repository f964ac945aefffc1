"""The provider profile: the tenant every provider-owned object hangs off."""

from datetime import datetime
from typing import Annotated

from beanie import Document, Indexed
from pydantic import BaseModel, Field
from pymongo import ASCENDING, IndexModel

from shared_models.documents.bookings import Money
from shared_models.enums import ServiceCategory, SubscriptionTier
from shared_models.ids import Ref


class ServiceArea(BaseModel):
    lat: float = Field(ge=-90, le=90, strict=True)
    lng: float = Field(ge=-180, le=180, strict=True)
    radius_km: float = Field(gt=0, le=200, strict=True)


class ProviderProfile(Document):
    owner_id: Annotated[Ref, Indexed(unique=True)]
    business_name: str = Field(min_length=2, max_length=120)
    slug: Annotated[str, Indexed(unique=True)]
    categories: list[ServiceCategory] = Field(default_factory=list)
    description: str = Field(default="", max_length=4000)
    service_area: ServiceArea | None = None
    version: int = 0  # compare-and-set of profile edits
    # Bumped by every change to what search shows (area, categories, name, price, rating): the coverage
    # rows are rebuilt for the new version. Set with it, `index_pending_since` is cleared once they are, so
    # a sweeper finishes any rebuild a crash interrupted.
    area_version: int = 0
    index_pending_since: datetime | None = None
    price_from: Money | None = None  # "from £X": what search's max-price filter compares
    # The published-review aggregate (count and sum of stars), updated atomically by the reviews domain.
    rating_count: int = 0
    rating_sum: int = 0
    verified: bool = False  # an admin checked the business (identity, licences)
    verified_at: datetime | None = None
    created_at: datetime
    updated_at: datetime

    @property
    def rating_mean(self) -> float | None:
        return self.rating_sum / self.rating_count if self.rating_count else None

    class Settings:
        name = "provider_profiles"
        indexes = [IndexModel([("index_pending_since", ASCENDING)])]


class ProviderCoverage(Document):
    """One H3 cell of a provider's service area: search finds providers by one equality on `cell`.

    A row per cell rather than a list field on the profile: the embedded engine cannot serve (and, with an
    index on the field, does not even answer) array-membership equality. Each row carries what search
    filters, ranks and shows (written only by the providers service, rebuilt on every change), so a search
    joins nothing:

    - the listing: name, slug, categories, price, rating, centre and radius (from the profile);
    - the standing, a projection of the subscription (written by the billing webhook only):
      `tier` while the subscription is in good standing, else None; `stratum`, the ranking stratum of that
      tier (search's counts group on it); `standing_version`, the subscription document's `version` it
      was read from (a projection only ever moves forward); `cos_reach`, the cosine of the reach in
      radians (radius capped by the tier's maximum radius, over the Earth's mean radius), and `south`,
      `north`, `west`, `east`, the box (degrees) that holds the reach — empty when not in good standing;
    - what the engine evaluates so that search reads only the rows it shows: `x`, `y`, `z`, the centre
      as a unit vector (a point is within the reach when the dot product of its vector with this one is
      ≥ `cos_reach`), `bonus_km` (ranking's rating bonus, in km), `serves` ({category: true}, because the
      engine cannot match an array's member in an aggregation) and `rating_weight` (max(rating_count, 1),
      the denominator of the min-rating filter).
    """

    cell: str
    provider_id: Ref
    owner_id: Ref
    area_version: int
    lat: float
    lng: float
    radius_km: float
    categories: list[ServiceCategory]
    business_name: str
    slug: str
    price_from: Money | None = None
    rating_count: int = 0
    rating_sum: int = 0
    tier: SubscriptionTier | None = None
    stratum: SubscriptionTier | None = None
    standing_version: int = 0
    cos_reach: float = 1.0
    south: float = 91.0
    north: float = -91.0
    west: float = 181.0
    east: float = -181.0
    x: float = 0.0
    y: float = 0.0
    z: float = 0.0
    bonus_km: float = 0.0
    serves: dict[str, bool] = Field(default_factory=dict)
    rating_weight: int = 1

    class Settings:
        name = "provider_coverage"
        indexes = [
            IndexModel([("cell", ASCENDING)]),
            IndexModel([("provider_id", ASCENDING)]),
            IndexModel([("provider_id", ASCENDING), ("area_version", ASCENDING)]),
        ]
