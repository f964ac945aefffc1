"""Provider profile request/response models."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared_models.documents import ProviderProfile, ServiceArea
from shared_models.enums import ServiceCategory


class ProviderSignup(BaseModel):
    """What a provider states about their business when registering."""

    model_config = ConfigDict(extra="forbid")

    business_name: str = Field(min_length=2, max_length=120, examples=["Sparkle Cleaning Co."])
    categories: list[ServiceCategory] = Field(default_factory=list, max_length=12, examples=[["cleaning"]])
    description: str = Field(default="", max_length=4000, examples=["Eco-friendly home cleaning."])
    service_area: ServiceArea | None = Field(
        default=None, examples=[{"lat": 51.5072, "lng": -0.1276, "radius_km": 10}]
    )

    @field_validator("business_name")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = " ".join(value.split())
        if len(value) < 2:
            raise ValueError("business name must have at least 2 visible characters")
        return value

    @field_validator("categories")
    @classmethod
    def _unique(cls, value: list[ServiceCategory]) -> list[ServiceCategory]:
        return list(dict.fromkeys(value))


class ProviderProfileOut(BaseModel):
    id: str
    business_name: str
    slug: str
    categories: list[ServiceCategory]
    description: str
    service_area: ServiceArea | None
    created_at: datetime

    @classmethod
    def of(cls, profile: ProviderProfile) -> "ProviderProfileOut":
        return cls(
            id=str(profile.id),
            business_name=profile.business_name,
            slug=profile.slug,
            categories=profile.categories,
            description=profile.description,
            service_area=profile.service_area,
            created_at=profile.created_at,
        )
