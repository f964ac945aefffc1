"""Search request/response models."""

from datetime import datetime

from pydantic import BaseModel, Field

from shared_models.documents import Money
from shared_models.enums import ServiceCategory, SubscriptionTier


class RatingOut(BaseModel):
    """A provider's published reviews: how many, and their mean (1 to 5; None before the first)."""

    count: int
    mean: float | None


class LocationOut(BaseModel):
    lat: float
    lng: float
    label: str | None = Field(description="The place found for `q`, when the search was by name.")


class ProviderHit(BaseModel):
    position: int = Field(description="1-based rank across all pages.")
    provider_id: str
    slug: str
    business_name: str
    categories: list[ServiceCategory]
    distance_km: float
    tier: SubscriptionTier
    badge: str | None
    rating: RatingOut
    price_from: Money | None


class SearchPage(BaseModel):
    location: LocationOut
    items: list[ProviderHit]
    total: int = Field(description="Every match of the query (all pages).")
    next_cursor: str | None = Field(description="Pass as `cursor` (same query) for the next page.")


class TierExposure(BaseModel):
    tier: SubscriptionTier
    impressions: int
    exposure_share: float = Field(description="This tier's share of all impressions in the range.")
    eligible: int = Field(description="Matching providers of this tier, summed over the searches.")
    eligible_share: float


class FairnessReport(BaseModel):
    since: datetime
    until: datetime
    searches: int
    tiers: list[TierExposure]
