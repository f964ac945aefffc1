"""Search telemetry: what each search showed (impressions) and how many providers of each tier were eligible."""

from datetime import datetime

from beanie import Document
from pymongo import ASCENDING, IndexModel

from shared_models.enums import SubscriptionTier
from shared_models.ids import Ref


class SearchEvent(Document):
    """One served results page: how many matching providers each tier had, and how many it showed."""

    at: datetime
    at_key: str  # `time_key(at)`: what time ranges filter on
    eligible_by_tier: dict[str, int]
    shown_by_tier: dict[str, int]
    expires_at: datetime  # TTL

    class Settings:
        name = "search_events"
        indexes = [
            IndexModel([("at_key", ASCENDING)]),
            IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0),
        ]


class SearchImpression(Document):
    """A provider shown at a position of a results page."""

    search_id: str
    provider_id: Ref
    tier: SubscriptionTier
    position: int  # 1-based, across pages
    at: datetime
    at_key: str
    expires_at: datetime  # TTL

    class Settings:
        name = "search_impressions"
        indexes = [
            IndexModel([("at_key", ASCENDING)]),
            IndexModel([("provider_id", ASCENDING)]),
            IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0),
        ]


class GeocodeCache(Document):
    """Geocoder answers, shared by every platform instance, for `GEOCODE_CACHE_SECONDS` (TTL)."""

    key: str
    lat: float
    lng: float
    label: str
    expires_at: datetime

    class Settings:
        name = "geocode_cache"
        indexes = [
            IndexModel([("key", ASCENDING)], unique=True),
            IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0),
        ]
