"""App factory: create_app(settings) wires routers, middleware, error handlers and the database lifespan."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response

from platform_api.account.router import router as account_router
from platform_api.admin.accounts import router as admin_accounts_router
from platform_api.admin.console import mount_console
from platform_api.admin.disputes import router as admin_disputes_router
from platform_api.admin.router import router as admin_router
from platform_api.auth.router import router as auth_router
from platform_api.billing.router import router as billing_router
from platform_api.billing.stripe_api import stripe_client
from platform_api.billing.webhook import StripeWebhook
from platform_api.bookings.router import router as bookings_router
from platform_api.config import Settings
from platform_api.consent.router import router as consent_router
from platform_api.conversations.router import router as conversations_router
from platform_api.disputes.router import router as disputes_router
from platform_api.errors import TypedCORSMiddleware, document_typed_validation_errors, install_error_handlers
from platform_api.idempotency import HEADER as IDEMPOTENCY_HEADER
from platform_api.idempotency import REPLAYED_HEADER
from platform_api.media.router import router as media_router
from platform_api.media.service import MediaService
from platform_api.media.storage import ObjectStorage
from platform_api.notifications.router import router as notifications_router
from platform_api.notifications.unsubscribe import router as unsubscribe_router
from platform_api.payments import reducer as payment_reducers
from platform_api.payments.router import router as payments_router
from platform_api.providers.router import router as providers_router
from platform_api.ratelimits import HttpLimits
from platform_api.realtime import RealtimeClient
from platform_api.reviews.router import router as reviews_router
from platform_api.scheduler import JobRunner
from platform_api.search.geocoding import CachedGeocoder, Geocoder, MapboxGeocoder, OfflineGeocoder
from platform_api.search.router import router as search_router
from shared_models.clock import Clock, SystemClock
from shared_models.runtime.background import stop
from shared_models.runtime.logs import configure_logging
from shared_models.runtime.registry import connect, init_models, readiness
from shared_models.runtime.telemetry import RequestTelemetry, metrics_body
from shared_models.services.session_cache import SessionCache

OPENAPI_TAGS = [
    {"name": "auth", "description": "Accounts and sessions (cookie for browsers, Bearer for the app)."},
    {"name": "providers", "description": "Provider profiles: the marketplace's tenants."},
    {
        "name": "bookings",
        "description": "Service requests and their lifecycle (state machine with deadlines).",
    },
    {
        "name": "chat",
        "description": "Conversations and message history (live traffic: the chat server's Socket.IO).",
    },
    {
        "name": "media",
        "description": "Uploads straight to object storage (presigned), confirmed by the server.",
    },
    {"name": "disputes", "description": "Disputes about completed jobs: evidence, deadlines, the timeline."},
    {
        "name": "reviews",
        "description": "Double-blind reviews after a confirmed job, and the provider's reply.",
    },
    {
        "name": "billing",
        "description": "Provider subscriptions on Stripe: checkout, portal, the stored state, Stripe's webhook.",
    },
    {
        "name": "payments",
        "description": "Customers pay providers for bookings on Stripe Connect: providers' Express accounts "
        "(onboarding, dashboard) and the cancellation policy. A booking's payment is `/requests/{id}/payment`.",
    },
    {"name": "search", "description": "Find providers who serve a location, fairly ranked."},
    {"name": "notifications", "description": "In-app notifications, unread counts and preferences."},
    {"name": "account", "description": "Consents, marketing choice, one-click unsubscribe."},
    {"name": "admin", "description": "The admin console. Every route needs the admin role."},
    {"name": "health", "description": "Liveness and readiness probes."},
]


def build_geocoder(settings: Settings) -> Geocoder:
    """Mapbox when a token is configured, else the offline gazetteer (no key, no network)."""
    if settings.mapbox_token is not None and settings.mapbox_token.get_secret_value():
        return MapboxGeocoder(
            settings.mapbox_token.get_secret_value(),
            settings.mapbox_api_url,
            settings.geocoder_timeout_seconds,
        )
    return OfflineGeocoder()


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings()
    settings.check_secrets()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = connect(settings.mongodb_uri, settings.mongodb_timeout_ms)
        app.state.mongo = client
        app.state.document_models = await init_models(client, settings.mongodb_db)
        app.state.session_cache = SessionCache()
        watching = asyncio.create_task(app.state.session_cache.watch(), name="session-changes")
        app.state.realtime = RealtimeClient(settings)
        app.state.stripe = stripe_client(settings)
        app.state.stripe_webhook = StripeWebhook(settings, app.state.stripe, app.state.clock)
        payment_reducers.attach(app.state.stripe_webhook)
        app.state.media = MediaService(settings, ObjectStorage(settings))
        geocoder = build_geocoder(settings)
        app.state.geocoder = CachedGeocoder(
            geocoder, timedelta(seconds=settings.geocode_cache_seconds), app.state.clock
        )
        scheduler = (
            JobRunner(settings, app.state.clock, realtime=app.state.realtime).build()
            if settings.scheduler_enabled
            else None
        )
        if scheduler is not None:
            scheduler.start()
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.shutdown(wait=False)
            await stop([watching])
            await app.state.realtime.aclose()
            if isinstance(geocoder, MapboxGeocoder):
                await geocoder.aclose()
            await client.close()

    app = FastAPI(
        title="Local Services Marketplace — Platform API",
        version="1.0.0",
        description="REST API of the marketplace. Errors always answer `{error: {code, message, field?}}`.",
        openapi_tags=OPENAPI_TAGS,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.clock = clock or SystemClock()
    app.state.limits = HttpLimits(settings)
    install_error_handlers(app)
    app.add_middleware(RequestTelemetry, service="platform")
    app.add_middleware(
        TypedCORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=[
            "Authorization",
            "Content-Type",
            settings.csrf_header_name,
            "X-Request-ID",
            IDEMPOTENCY_HEADER,
        ],
        # What the web app may read of a response besides the CORS-safelisted headers.
        expose_headers=["X-Request-ID", "Retry-After", REPLAYED_HEADER],
    )
    for router in (
        auth_router,
        providers_router,
        # Before bookings: `/requests/{id}/dispute` and `/review` must not fall into `/requests/{id}/{event}`.
        disputes_router,
        reviews_router,
        bookings_router,
        conversations_router,
        media_router,
        billing_router,
        payments_router,
        search_router,
        notifications_router,
        consent_router,
        unsubscribe_router,
        account_router,
        admin_router,
        admin_accounts_router,
        admin_disputes_router,
    ):
        app.include_router(router, prefix=settings.api_prefix)
    mount_console(app, settings)

    document_typed_validation_errors(app)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        body, content_type = metrics_body()
        return Response(body, media_type=content_type)

    @app.get("/healthz", tags=["health"], summary="Liveness: the process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["health"],
        summary="Readiness: the database and object storage answer (Redis and the chat server are reported)",
        responses={503: {"description": "A dependency is unreachable"}},
    )
    async def readyz() -> JSONResponse:
        # Storage is needed (uploads, evidence); without Redis, limits fall back to per-process counting and
        # without the chat server notifications wait in the outbox: reported, but still ready.
        ready, checks = await readiness(
            app.state.mongo,
            settings.readiness_timeout_seconds,
            required={"object_storage": app.state.media.storage.check},
            optional={
                "chat_server": app.state.realtime.check,
                **({"redis": app.state.limits.core.check_shared_store} if settings.redis_url else {}),
            },
        )
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", "checks": checks},
            status_code=200 if ready else 503,
        )

    return app


def app_from_env() -> FastAPI:
    """Entry point for `uvicorn --factory platform_api.main:app_from_env`."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    return create_app(settings)
