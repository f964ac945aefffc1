"""Demo data for `python -m scripts.dev --demo`: one account per role and a few providers. Idempotent."""

import contextlib
from dataclasses import dataclass

from platform_api.auth.schemas import RegisterRequest
from platform_api.auth.service import auth_service
from platform_api.errors import Conflict
from platform_api.providers.schemas import ProviderSignup
from shared_models.clock import Clock
from shared_models.documents import ServiceArea
from shared_models.enums import Role, ServiceCategory

DEMO_PASSWORD = "demo-password-123"  # noqa: S105 - published on purpose: demo data only


@dataclass(frozen=True)
class DemoLogin:
    role: Role
    email: str
    note: str


DEMO_PROVIDERS = [
    (
        "sparkle@demo.example.com",
        "Sam",
        "Sparkle Cleaning Co.",
        [ServiceCategory.cleaning],
        (51.5072, -0.1276, 12),
    ),
    (
        "fixit@demo.example.com",
        "Priya",
        "Fix-It Plumbing",
        [ServiceCategory.plumbing, ServiceCategory.hvac],
        (51.52, -0.10, 8),
    ),
    ("volt@demo.example.com", "Tom", "Volt Electricians", [ServiceCategory.electrical], (51.48, -0.2, 15)),
]


async def seed_demo(clock: Clock) -> list[DemoLogin]:
    logins = [DemoLogin(Role.admin, "admin@demo.example.com", "admin console")]
    with contextlib.suppress(Conflict):  # seeded before: a second run reuses the data
        await auth_service.create_admin("admin@demo.example.com", DEMO_PASSWORD, "Demo Admin", clock)
    customer = RegisterRequest(
        email="customer@demo.example.com",
        password=DEMO_PASSWORD,
        role=Role.customer,
        display_name="Casey Customer",
    )
    signups: list[RegisterRequest] = [customer]
    for email, name, business, categories, (lat, lng, radius) in DEMO_PROVIDERS:
        signups.append(
            RegisterRequest(
                email=email,
                password=DEMO_PASSWORD,
                role=Role.provider,
                display_name=name,
                provider=ProviderSignup(
                    business_name=business,
                    categories=categories,
                    service_area=ServiceArea(lat=lat, lng=lng, radius_km=radius),
                ),
            )
        )
    for signup in signups:
        with contextlib.suppress(Conflict):
            await auth_service.register(signup, clock)
        logins.append(DemoLogin(signup.role, str(signup.email), signup.display_name))
    return logins
