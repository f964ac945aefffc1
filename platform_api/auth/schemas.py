"""Auth request/response models."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from platform_api.providers.schemas import ProviderProfileOut, ProviderSignup
from shared_models.documents import User
from shared_models.documents.users import InvalidEmail, canonical_email
from shared_models.enums import Role, UserStatus
from shared_models.text import Written

PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 128


def _canonical(value: str) -> str:
    try:
        return canonical_email(value)
    except InvalidEmail as exc:
        raise ValueError(f"value is not a valid email address: {exc}") from None


def _known(value: str) -> str:
    return canonical_email(value, strict=False)


# An address naming an account that may predate validation (login, password reset): canonical when
# email-validator accepts it, else under the same character rules, so such an account is not locked out.
KnownEmailAddress = Annotated[
    str,
    Field(min_length=3, max_length=320, json_schema_extra={"format": "email"}),
    AfterValidator(_known),
]


# An email address in a request body, in its canonical form (`canonical_email`) by the time a handler sees
# it; 422 with field "email" when email-validator rejects it. RFC 5321 caps a path at 256 octets; 320 is
# the common (local 64 + @ + domain 255) bound.
EmailAddress = Annotated[
    str,
    Field(min_length=3, max_length=320, json_schema_extra={"format": "email"}),
    AfterValidator(_canonical),
]


class RegisterRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "email": "ada@example.com",
                    "password": "correct horse battery",
                    "role": "customer",
                    "display_name": "Ada",
                    "accepted_terms_version": "2026-11-01",
                    "accepted_privacy_version": "2026-11-01",
                    "marketing_opt_in": False,
                },
                {
                    "email": "sam@sparkle.example",
                    "password": "correct horse battery",
                    "role": "provider",
                    "display_name": "Sam",
                    "accepted_terms_version": "2026-11-01",
                    "accepted_privacy_version": "2026-11-01",
                    "provider": {
                        "business_name": "Sparkle Cleaning Co.",
                        "categories": ["cleaning"],
                        "service_area": {"lat": 51.5072, "lng": -0.1276, "radius_km": 10},
                    },
                },
            ]
        },
    )

    email: EmailAddress
    password: str = Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)
    # Admins are never self-registered: they are created with `python -m scripts.create_admin`.
    role: Literal[Role.customer, Role.provider]
    display_name: Written = Field(min_length=1, max_length=100)
    provider: ProviderSignup | None = Field(default=None, validate_default=True)
    # Consent: the versions of the terms and the privacy notice shown at sign-up (the current ones, or 422).
    accepted_terms_version: str = Field(max_length=40, examples=["2026-11-01"])
    accepted_privacy_version: str = Field(max_length=40, examples=["2026-11-01"])
    marketing_opt_in: bool = False

    @field_validator("display_name")
    @classmethod
    def _visible(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("display name must not be blank")
        return value

    @field_validator("provider")
    @classmethod
    def _provider_matches_role(
        cls, value: ProviderSignup | None, info: ValidationInfo
    ) -> ProviderSignup | None:
        role = info.data.get("role")
        if role == Role.provider and value is None:
            raise ValueError("a provider account needs its business details")
        if role == Role.customer and value is not None:
            raise ValueError("only provider accounts carry business details")
        return value


class LoginRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"email": "ada@example.com", "password": "correct horse battery"}]},
    )

    email: KnownEmailAddress
    password: str = Field(min_length=1, max_length=PASSWORD_MAX_LENGTH)


class UserOut(BaseModel):
    id: str = Field(examples=["6650f0c2a1b2c3d4e5f60718"])
    email: str = Field(examples=["ada@example.com"])
    role: Role
    status: UserStatus
    display_name: str = Field(examples=["Ada"])
    email_verified: bool
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> "UserOut":
        return cls(
            id=str(user.id),
            email=user.email,
            role=user.role,
            status=user.status,
            display_name=user.display_name,
            email_verified=user.email_verified,
            created_at=user.created_at,
        )


class SessionOut(BaseModel):
    """A new session. Browsers use the HttpOnly cookie set alongside; the app sends `access_token` as Bearer."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_at: datetime
    csrf_token: str = Field(
        description="Send as the X-CSRF-Token header on unsafe requests made with the cookie."
    )
    user: UserOut
    provider: ProviderProfileOut | None = None


class MeOut(BaseModel):
    user: UserOut
    provider: ProviderProfileOut | None = None
    csrf_token: str
    session_expires_at: datetime


class VerifyEmailRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"token": "mO3k9Qv2_xY8pL1nR4tW7zA0"}]}
    )

    token: str = Field(min_length=20, max_length=200, description="The `token` of the emailed link.")


class PasswordResetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"email": "ada@example.com"}]})

    email: KnownEmailAddress


class PasswordResetConfirm(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"token": "mO3k9Qv2_xY8pL1nR4tW7zA0", "password": "a new long passphrase"}]
        },
    )

    token: str = Field(min_length=20, max_length=200, description="The `token` of the emailed link.")
    password: str = Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)


class AcceptedOut(BaseModel):
    status: str = Field(examples=["If the account exists, an email is on its way."])
