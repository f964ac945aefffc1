"""Demo data for `bash scripts/run.sh --demo`: one account per role, a few providers, their bookings, a
dispute with evidence for the admin console, and a provider on Stripe Connect with two bookings the customer
paid by card (one captured, one authorised for the provider to accept). Idempotent.

    .venv/bin/python -m scripts.seed     (into the database and object store the environment names: Settings())
"""

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import stripe

from platform_api.auth.schemas import RegisterRequest
from platform_api.auth.service import auth_service
from platform_api.billing.service import billing_service
from platform_api.billing.stripe_api import stripe_client
from platform_api.billing.webhook import StripeWebhook
from platform_api.bookings.schemas import CreateRequest, TimeWindowIn
from platform_api.bookings.service import Actor, booking_service
from platform_api.config import Settings
from platform_api.consent.service import Origin
from platform_api.disputes.errors import EvidenceClosed
from platform_api.disputes.service import dispute_service
from platform_api.entitlements import subscriptions
from platform_api.errors import Conflict
from platform_api.media.service import MediaService
from platform_api.media.storage import ObjectStorage
from platform_api.payments import accounts, settlement
from platform_api.payments import reducer as payment_reducers
from platform_api.payments import service as payments
from platform_api.providers.schemas import ProviderSignup
from platform_api.providers.service import provider_service
from scripts.demo_files import ceiling_photo, invoice_pdf
from scripts.stripe_fake.control import (
    complete_checkout,
    confirm_payment,
    held_events,
    hold_webhooks,
    onboard_account,
)
from shared_models.clock import Clock, SystemClock
from shared_models.documents import (
    Dispute,
    DisputeCategory,
    EvidenceKind,
    GeoPoint,
    MediaObject,
    Money,
    ProviderProfile,
    ServiceArea,
    ServiceRequest,
    User,
)
from shared_models.documents.payments import BookingPayment, PaymentIntentStatus
from shared_models.enums import RequestEvent, RequestState, Role, ServiceCategory, SubscriptionTier
from shared_models.runtime.registry import connect, init_models

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
# The demo dispute: the customer's complaint about the completed Volt job, and the provider's answer.
DISPUTED_PROVIDER = "volt@demo.example.com"
DISPUTE_STATEMENT = (
    "One of the two new ceiling lights flickers and hangs loose from the ceiling, and the plaster around it "
    "is cracked. Photo and the invoice attached."
)
PROVIDER_ANSWER = (
    "Both lights were tested on site and worked. The flicker comes from the old dimmer switch, which is not "
    "rated for LED fittings; I offered to replace it at cost. I will refit the loose rose free of charge."
)
PHOTO_NAME, INVOICE_NAME = "ceiling-light.jpg", "volt-invoice.pdf"
# The demo provider onboarded to Stripe Connect: bookings requested of it from then on are paid by card.
CARD_PROVIDER = "fixit@demo.example.com"


@dataclass(frozen=True)
class CardBookingPlan:
    category: ServiceCategory
    description: str
    amount_minor: int  # GBP
    accepted: bool  # accepted (the card captured), or left requested with the card authorised


# Booked after the provider's onboarding (its older tap repair stays an unpaid booking).
CARD_BOOKINGS = (
    CardBookingPlan(ServiceCategory.plumbing, "Replace a leaking radiator valve", 12000, accepted=True),
    CardBookingPlan(ServiceCategory.hvac, "Annual boiler service", 8500, accepted=False),
)


@dataclass(frozen=True)
class PaidBooking:
    """A card-paid demo booking as the seed left it."""

    request_id: str
    description: str
    state: RequestState
    payment_status: PaymentIntentStatus
    amount: int
    application_fee_amount: int
    currency: str


@dataclass(frozen=True)
class Demo:
    logins: list[DemoLogin]
    dispute_id: str | None  # None only when data kept from older runs has no disputable booking left
    paid_bookings: list[PaidBooking]


async def seed_demo(clock: Clock, settings: Settings) -> list[DemoLogin]:
    """The demo data (see `seed`); answers the logins."""
    return (await seed(clock, settings)).logins


async def seed(clock: Clock, settings: Settings) -> Demo:
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
    assert settings.stripe_api_base, "demo seeding needs the local Stripe stand-in"
    client = stripe_client(settings)
    # The platform's one handler, with the payments domain's reducers as the platform process attaches them.
    webhook = StripeWebhook(settings, client, clock)
    payment_reducers.attach(webhook)
    await _subscribe_providers(clock, settings, client, webhook)
    await _seed_requests(clock)
    # The seed handles Stripe's events about what it pays itself: the stand-in keeps them instead of also
    # sending them to a platform that may not be listening yet (its retries would hold up later deliveries).
    await hold_webhooks(settings.stripe_api_base, True)
    try:
        await _onboard_card_provider(clock, settings, client, webhook)
        paid = await _seed_card_bookings(clock, settings, client, webhook)
    finally:
        await held_events(settings.stripe_api_base)
        await hold_webhooks(settings.stripe_api_base, False)
    dispute = await _seed_dispute(clock, settings)
    return Demo(logins, str(dispute.id) if dispute else None, paid)


async def seed_and_print(settings: Settings) -> Demo:
    """Connect to the database `settings` names, seed, and print the demo logins and the dispute's id."""
    client = connect(settings.mongodb_uri, settings.mongodb_timeout_ms)
    try:
        await init_models(client, settings.mongodb_db)
        demo = await seed(SystemClock(), settings)
    finally:
        await client.close()
    from scripts import dev_guide  # imported here: it imports this module's constants

    print(dev_guide.demo(settings, demo.logins, demo.paid_bookings))
    if demo.dispute_id is not None:
        print(f"dispute: {demo.dispute_id}  (the demo customer's, on the {DISPUTED_PROVIDER} job)")
    return demo


def main() -> int:
    settings = Settings()
    if settings.s3_endpoint_url:  # a local stand-in (moto): its bucket may not exist yet
        ObjectStorage(settings).ensure_bucket()
    asyncio.run(seed_and_print(settings))
    return 0


async def _subscribe_providers(
    clock: Clock, settings: Settings, client: stripe.StripeClient, webhook: StripeWebhook
) -> None:
    """Each demo provider pays at (the local) Checkout; the events go through the real webhook handler."""
    assert settings.stripe_api_base
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


async def _provider(email: str) -> tuple[User, ProviderProfile]:
    owner = await User.find_one(User.email == email)
    assert owner is not None
    profile = await provider_service.get_by_owner(str(owner.id))
    assert profile is not None
    return owner, profile


async def _onboard_card_provider(
    clock: Clock, settings: Settings, client: stripe.StripeClient, webhook: StripeWebhook
) -> None:
    """The card provider gets its Express account and finishes Stripe's onboarding (on the stand-in, as on the
    hosted page); Stripe's `account.updated` goes through the real handler and enables charges (once)."""
    assert settings.stripe_api_base
    owner, profile = await _provider(CARD_PROVIDER)
    account = await accounts.ensure(profile, owner, settings, client, clock)
    if account.charges_enabled:
        return
    onboarded = await onboard_account(settings.stripe_api_base, account.stripe_account_id)
    await _handle_events_about(webhook, client, account.stripe_account_id, int(onboarded["created"]))
    assert await payments.card_payments_for(str(profile.id)), "the demo provider's charges are not enabled"


async def _seed_card_bookings(
    clock: Clock, settings: Settings, client: stripe.StripeClient, webhook: StripeWebhook
) -> list[PaidBooking]:
    """The demo customer books the card provider and pays by card, as the app does: the booking's
    PaymentIntent, confirmed with a test card, its events through the real handler (authorised); the provider
    accepts the first (the platform captures it). Each step happens once; a run cut short resumes."""
    assert settings.stripe_api_base
    customer = await User.find_one(User.email == DEMO_CUSTOMER)
    assert customer is not None
    owner, profile = await _provider(CARD_PROVIDER)
    now = clock.now()
    paid: list[PaidBooking] = []
    for days, plan in enumerate(CARD_BOOKINGS, start=3):
        query = {
            "customer_id": str(customer.id),
            "provider_id": str(profile.id),
            "description": plan.description,
        }
        request = await ServiceRequest.find_one(query)
        if request is None:
            start = now + timedelta(days=days)
            data = CreateRequest(
                provider_id=str(profile.id),
                category=plan.category,
                description=plan.description,
                address="221B Baker Street, London",
                location=GeoPoint(lat=51.5238, lng=-0.1586),
                window=TimeWindowIn(start=start, end=start + timedelta(hours=2)),
                quote=Money(amount_minor=plan.amount_minor, currency="GBP"),
            )
            request = await booking_service.create(customer, data, now)
        if not request.payment_required:
            continue  # booked before the provider took cards (a run cut short before onboarding)
        if request.state is RequestState.requested:
            await _authorise(request, settings.stripe_api_base, client, webhook, now)
            if plan.accepted:
                request = await booking_service.perform(
                    str(request.id), RequestEvent.accept, Actor.of(owner), now, stripe_client=client
                )
        if request.state is not RequestState.requested:
            await settlement.settle(request, client, now)  # done already unless a run stopped half way
        payment = await BookingPayment.get(request.id)
        assert payment is not None
        payment = await _record_payment(webhook, client, payment)
        paid.append(
            PaidBooking(
                str(request.id),
                request.description,
                request.state,
                payment.status,
                payment.amount,
                payment.application_fee_amount,
                payment.currency,
            )
        )
    return paid


async def _authorise(
    request: ServiceRequest, api_base: str, client: stripe.StripeClient, webhook: StripeWebhook, now: datetime
) -> None:
    """The customer pays: the PaymentIntent started, confirmed with a test card, Stripe's events handled."""
    started = await payments.start(request, client, webhook, now)
    payment = await _record_payment(webhook, client, started.payment)  # what a run cut short left unhandled
    if payment.status is PaymentIntentStatus.requires_payment_method:
        await confirm_payment(api_base, payment.stripe_payment_intent_id)
        payment = await _record_payment(webhook, client, payment)
    assert payment.status is PaymentIntentStatus.requires_capture, payment.status


async def _record_payment(
    webhook: StripeWebhook, client: stripe.StripeClient, payment: BookingPayment
) -> BookingPayment:
    """Handle Stripe's events about the payment so far; the payment as they left it."""
    intent = await client.v1.payment_intents.retrieve_async(payment.stripe_payment_intent_id)
    await _handle_events_about(webhook, client, payment.stripe_payment_intent_id, int(intent.created))
    fresh = await BookingPayment.get(payment.id)
    assert fresh is not None
    return fresh


async def _handle_events_about(
    webhook: StripeWebhook, client: stripe.StripeClient, object_id: str, since: int
) -> None:
    """Stripe's events about an account or a PaymentIntent (its charges and refunds too) since `since`, oldest
    first, through the real handler (the stand-in holds them meanwhile: see `seed`)."""
    page = await client.v1.events.list_async(params={"created": {"gte": since}, "limit": 100})
    events = [event.to_dict() async for event in page.auto_paging_iter()]
    for event in reversed(events):  # Stripe lists newest first
        obj = event["data"]["object"]
        if object_id in (obj.get("id"), payment_reducers.payment_intent_id_of(event)):
            await webhook.ingest(event, source="seed")


async def _seed_dispute(clock: Clock, settings: Settings) -> Dispute | None:
    """The demo customer disputes the completed Volt job, with a photo and the invoice (uploaded and confirmed
    the way the app does), and the provider answers. Each step happens once, through the domain services."""
    customer = await User.find_one(User.email == DEMO_CUSTOMER)
    provider = await User.find_one(User.email == DISPUTED_PROVIDER)
    assert customer is not None
    assert provider is not None
    request = await ServiceRequest.find_one(
        {"customer_id": str(customer.id), "provider_user_id": str(provider.id)}
    )
    assert request is not None
    now = clock.now()
    dispute = await dispute_service.get(str(request.id))
    if dispute is None:
        if request.state is not RequestState.completed:
            return None  # data kept from before demo disputes: the job was confirmed meanwhile
        try:
            dispute = await dispute_service.open(
                customer, str(request.id), DisputeCategory.poor_quality, DISPUTE_STATEMENT, now
            )
        except Conflict:
            return None  # the same, with its confirmation window passed
    items = await dispute_service.evidence(dispute)
    media = MediaService(settings, ObjectStorage(settings))
    amount = f"GBP {request.quote.amount_minor / 100:.2f}" if request.quote else "as quoted"
    files = (
        (PHOTO_NAME, "image/jpeg", ceiling_photo()),
        (INVOICE_NAME, "application/pdf", invoice_pdf("Volt Electricians", request.description, amount)),
    )
    # Evidence closes after its deadline: data kept from an older run that stopped half way stays as it is.
    with contextlib.suppress(EvidenceClosed):
        for name, content_type, content in files:
            if any(i.author_id == str(customer.id) and i.filename == name for i in items):
                continue
            uploaded = await _upload(media, customer, name, content_type, content, now)
            await dispute_service.add_evidence(str(dispute.id), customer, None, str(uploaded.id), None, now)
        if not any(i.author_id == str(provider.id) and i.kind is EvidenceKind.statement for i in items):
            await dispute_service.add_evidence(str(dispute.id), provider, PROVIDER_ANSWER, None, None, now)
    return dispute


async def _upload(
    media: MediaService, owner: User, filename: str, content_type: str, content: bytes, now: datetime
) -> MediaObject:
    """Start an upload, POST the file to storage with its presigned form, confirm it: as the app does."""
    upload = await media.start_upload(owner, filename, content_type, len(content), now)
    async with httpx.AsyncClient(timeout=30) as storage:
        stored = await storage.post(
            upload.url, data=upload.fields, files={"file": (filename, content, content_type)}
        )
    stored.raise_for_status()
    return await media.confirm(str(upload.media.id), owner, now)


if __name__ == "__main__":
    raise SystemExit(main())
