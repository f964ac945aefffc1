"""Demo data for `bash scripts/run.sh --demo`: one account per role and a few providers. Idempotent."""

import contextlib
from dataclasses import dataclass
from datetime import timedelta

from platform_api.auth.schemas import RegisterRequest
from platform_api.auth.service import auth_service
from platform_api.billing import subscriptions
from platform_api.billing.service import billing_service
from platform_api.billing.stripe_api import stripe_client
from platform_api.billing.webhook import StripeWebhook
from platform_api.bookings.schemas import CreateRequest, TimeWindowIn
from platform_api.bookings.service import Actor, booking_service
from platform_api.config import Settings
from platform_api.consent.service import Origin
from platform_api.errors import Conflict
from platform_api.providers.schemas import ProviderSignup
from platform_api.providers.service import provider_service
from scripts.stripe_fake.control import complete_checkout
from shared_models.clock import Clock
from shared_models.documents import GeoPoint, Money, ServiceArea, ServiceRequest, User
from shared_models.enums import RequestEvent, Role, ServiceCategory, SubscriptionTier

DEMO_PASSWORD = "demo-password-123"  # noqa: S105 - published on purpose: demo data only


@dataclass(frozen=True)
class DemoLogin:
    role: Role
    email: str
    note: str


@dataclass(frozen=True)
class DemoProvider:
    email: str
    name: str
    business: str
    categories: tuple[ServiceCategory, ...]
    tier: SubscriptionTier
    place: str  # a place name the search understands (the offline gazetteer's), inside the service area
    lat: float
    lng: float
    radius_km: float


DEMO_PROVIDERS = (
    DemoProvider(
        "sparkle@demo.example.com",
        "Sam",
        "Sparkle Cleaning Co.",
        (ServiceCategory.cleaning,),
        SubscriptionTier.premium,
        "London, GB",
        51.5072,
        -0.1276,
        12,
    ),
    DemoProvider(
        "fixit@demo.example.com",
        "Priya",
        "Fix-It Plumbing",
        (ServiceCategory.plumbing, ServiceCategory.hvac),
        SubscriptionTier.pro,
        "Islington, GB",
        51.52,
        -0.10,
        8,
    ),
    DemoProvider(
        "volt@demo.example.com",
        "Tom",
        "Volt Electricians",
        (ServiceCategory.electrical,),
        SubscriptionTier.basic,
        "Fulham, GB",
        51.48,
        -0.2,
        15,
    ),
)
DEMO_ADMIN = "admin@demo.example.com"
DEMO_CUSTOMER = "customer@demo.example.com"
DEMO_ACCOUNTS = (DEMO_ADMIN, DEMO_CUSTOMER, *(p.email for p in DEMO_PROVIDERS))


async def seed_demo(clock: Clock, settings: Settings) -> list[DemoLogin]:
    logins = [DemoLogin(Role.admin, DEMO_ADMIN, "admin console")]
    with contextlib.suppress(Conflict):  # seeded before: a second run reuses the data
        await auth_service.create_admin(DEMO_ADMIN, DEMO_PASSWORD, "Demo Admin", clock)
    customer = RegisterRequest(
        email=DEMO_CUSTOMER,
        password=DEMO_PASSWORD,
        role=Role.customer,
        display_name="Casey Customer",
        accepted_terms_version=settings.terms_version,
        accepted_privacy_version=settings.privacy_version,
    )
    signups: list[RegisterRequest] = [customer]
    for demo in DEMO_PROVIDERS:
        signups.append(
            RegisterRequest(
                email=demo.email,
                password=DEMO_PASSWORD,
                role=Role.provider,
                display_name=demo.name,
                accepted_terms_version=settings.terms_version,
                accepted_privacy_version=settings.privacy_version,
                provider=ProviderSignup(
                    business_name=demo.business,
                    categories=list(demo.categories),
                    service_area=ServiceArea(lat=demo.lat, lng=demo.lng, radius_km=demo.radius_km),
                ),
            )
        )
    for signup in signups:
        with contextlib.suppress(Conflict):
            await auth_service.register(signup, clock, settings, Origin("signup", "127.0.0.1", "demo seed"))
        logins.append(DemoLogin(signup.role, str(signup.email), signup.display_name))
    await _subscribe_providers(clock, settings)
    await _seed_requests(clock)
    return logins


async def _subscribe_providers(clock: Clock, settings: Settings) -> None:
    """Each demo provider pays at (the local) Checkout; the events go through the real webhook handler."""
    assert settings.stripe_api_base, "demo seeding needs the local Stripe stand-in"
    client = stripe_client(settings)
    webhook = StripeWebhook(settings, client, clock)
    for demo in DEMO_PROVIDERS:
        owner = await User.find_one(User.email == demo.email)
        assert owner is not None
        profile = await provider_service.get_by_owner(str(owner.id))
        assert profile is not None
        current = await subscriptions.get_for_provider(str(profile.id))
        if current is not None and current.entitled:
            continue
        session = await billing_service.checkout(profile, owner, demo.tier, settings, client, clock)
        for event in await complete_checkout(settings.stripe_api_base, session.session_id):
            await webhook.ingest(event, source="seed")


async def _seed_requests(clock: Clock) -> None:
    """A few bookings between the demo customer and providers, in different states (once)."""
    customer = await User.find_one(User.email == DEMO_CUSTOMER)
    assert customer is not None
    if await ServiceRequest.find({"customer_id": str(customer.id)}).count():
        return
    now = clock.now()
    plan = [
        ("sparkle@demo.example.com", ServiceCategory.cleaning, "End-of-tenancy clean, 2 bedrooms", []),
        ("fixit@demo.example.com", ServiceCategory.plumbing, "Dripping kitchen tap", [RequestEvent.accept]),
        (
            "volt@demo.example.com",
            ServiceCategory.electrical,
            "Replace two ceiling lights",
            [RequestEvent.accept, RequestEvent.complete],
        ),
    ]
    for email, category, description, events in plan:
        owner = await User.find_one(User.email == email)
        assert owner is not None
        profile = await provider_service.get_by_owner(str(owner.id))
        assert profile is not None
        start = now + timedelta(days=2)
        data = CreateRequest(
            provider_id=str(profile.id),
            category=category,
            description=description,
            address="221B Baker Street, London",
            location=GeoPoint(lat=51.5238, lng=-0.1586),
            window=TimeWindowIn(start=start, end=start + timedelta(hours=2)),
            quote=Money(amount_minor=9500, currency="GBP"),
        )
        request = await booking_service.create(customer, data, now)
        for event in events:
            request = await booking_service.transition(request, event, Actor.of(owner), now)
