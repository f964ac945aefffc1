"""Provider profile request/response models."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from platform_api.search.schemas import RatingOut
from shared_models.documents import Money, ProviderProfile, ServiceArea
from shared_models.enums import ServiceCategory
from shared_models.text import Written, WrittenOrEmpty


class ProviderSignup(BaseModel):
    """What a provider states about their business when registering."""

    model_config = ConfigDict(extra="forbid")

    business_name: Written = Field(min_length=2, max_length=120, examples=["Sparkle Cleaning Co."])
    categories: list[ServiceCategory] = Field(default_factory=list, max_length=12, examples=[["cleaning"]])
    description: WrittenOrEmpty = Field(default="", max_length=4000, examples=["Eco-friendly home cleaning."])
    service_area: ServiceArea | None = Field(
        default=None, examples=[{"lat": 51.5072, "lng": -0.1276, "radius_km": 10}]
    )
    price_from: Money | None = Field(default=None, examples=[{"amount_minor": 4500, "currency": "GBP"}])

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


class ProviderUpdate(BaseModel):
    """A partial edit of the signed-in provider's profile: omit a field to keep it; only the area and the
    price can be removed (with null)."""

    model_config = ConfigDict(extra="forbid")

    # Not nullable, yet optional: the schema says "string, may be omitted", and a null is a typed 422.
    business_name: Written = Field(default=None, min_length=2, max_length=120)  # type: ignore[assignment]
    categories: list[ServiceCategory] = Field(default=None, max_length=12)  # type: ignore[arg-type]
    description: WrittenOrEmpty = Field(default=None, max_length=4000)  # type: ignore[assignment]
    service_area: ServiceArea | None = Field(
        default=None, description="Centre and radius; changing it re-indexes the provider for search."
    )
    price_from: Money | None = Field(default=None, examples=[{"amount_minor": 4500, "currency": "GBP"}])

    @field_validator("business_name")
    @classmethod
    def _strip(cls, value: str) -> str:
        return ProviderSignup._strip(value)

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
    price_from: Money | None
    rating: RatingOut
    verified: bool = Field(description="An admin checked the business.")
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
            price_from=profile.price_from,
            rating=RatingOut(count=profile.rating_count, mean=profile.rating_mean),
            verified=profile.verified,
            created_at=profile.created_at,
        )
