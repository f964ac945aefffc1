"""The provider profile: the tenant every provider-owned object hangs off."""

from datetime import datetime
from typing import Annotated

from beanie import Document, Indexed
from pydantic import BaseModel, Field

from shared_models.enums import ServiceCategory
from shared_models.ids import Ref


class ServiceArea(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)
    radius_km: float = Field(gt=0, le=200)


class ProviderProfile(Document):
    owner_id: Annotated[Ref, Indexed(unique=True)]
    business_name: str = Field(min_length=2, max_length=120)
    slug: Annotated[str, Indexed(unique=True)]
    categories: list[ServiceCategory] = Field(default_factory=list)
    description: str = Field(default="", max_length=4000)
    service_area: ServiceArea | None = None
    created_at: datetime
    updated_at: datetime

    class Settings:
        name = "provider_profiles"
