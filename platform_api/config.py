"""Platform settings, read once from the environment at start-up and passed down (see .env.example)."""

from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator

from shared_models.runtime.settings import CommonSettings, Environment

# Local stand-in values: the fake Stripe accepts any `sk_` key; production refuses these (check_secrets).
DEV_STRIPE_SECRET_KEY = "sk_test_local_stand_in"  # noqa: S105
DEV_STRIPE_WEBHOOK_SECRET = "whsec_dev_only_0123456789abcdef0123456789abcdef"  # noqa: S105

# Logins per client address unless RATE_LOGIN_IP says otherwise. Dev has its own: there are five demo
# accounts, so logging in once as each spent the whole allowance and the next try waited five minutes.
RATE_LOGIN_IP = "5/5 minutes"
DEV_RATE_LOGIN_IP = "30/5 minutes"


class Settings(CommonSettings):
    api_prefix: str = "/api/v1"
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = "http://127.0.0.1:8000"
    chat_url: str = "http://127.0.0.1:8001"
    # Where the platform reaches the chat server's internal API (often a private address in production).
    chat_internal_url: str = "http://127.0.0.1:8001"
    cors_origins: list[str] = Field(
        default_factory=lambda: ["http://localhost:5173", "http://127.0.0.1:5173"]
    )
    readiness_timeout_seconds: float = Field(default=2.0, gt=0)
    # Scheduled jobs (booking expiry / auto-confirm sweeps). Off here when a separate worker runs them.
    scheduler_enabled: bool = True
    sweep_interval_seconds: float = Field(default=60.0, gt=0)
    sweep_batch_size: int = Field(default=200, ge=1, le=5000)
    # Object storage (DigitalOcean Spaces in production, the moto server locally).
    s3_endpoint_url: str | None = "http://127.0.0.1:9000"
    s3_region: str = "us-east-1"
    s3_bucket: str = "marketplace-media"
    s3_access_key_id: str = "dev"
    s3_secret_access_key: SecretStr = SecretStr("dev-secret")  # local stand-in only
    # The endpoint presigned URLs name, when clients reach storage at another address than the API does
    # (a CDN or public hostname); unset: the same as S3_ENDPOINT_URL.
    s3_public_endpoint_url: str | None = None
    # Uploads: what may be stored, how big, and how long the presigned requests live.
    media_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    media_allowed_types: list[str] = Field(
        default_factory=lambda: ["image/jpeg", "image/png", "image/webp", "image/heic", "application/pdf"]
    )
    media_upload_ttl_seconds: int = Field(default=900, ge=30, le=7 * 24 * 3600)
    media_download_ttl_seconds: int = Field(default=300, ge=30, le=7 * 24 * 3600)
    # Outgoing mail (any SMTP in production, the aiosmtpd sink locally).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    mail_from: str = "Marketplace <no-reply@marketplace.local>"
    # Stripe. Unset STRIPE_API_BASE means the real Stripe; locally it is the fake (scripts.stripe_fake).
    stripe_secret_key: SecretStr = SecretStr(DEV_STRIPE_SECRET_KEY)
    stripe_webhook_secret: SecretStr = SecretStr(DEV_STRIPE_WEBHOOK_SECRET)
    stripe_api_base: str | None = "http://127.0.0.1:12111"
    stripe_timeout_seconds: float = Field(default=10.0, gt=0)
    # Signatures older than this are refused (replay defence); Stripe's own default is 300 s.
    stripe_webhook_tolerance_seconds: int = Field(default=300, ge=1)
    # Tier slots: one Stripe price id per tier. Changing a price is changing a variable, never code.
    stripe_price_tier_basic: str | None = "price_basic_monthly"
    stripe_price_tier_pro: str | None = "price_pro_monthly"
    stripe_price_tier_premium: str | None = "price_premium_monthly"
    billing_success_url: str = "http://localhost:5173/billing/success?session_id={CHECKOUT_SESSION_ID}"
    billing_cancel_url: str = "http://localhost:5173/billing"
    billing_portal_return_url: str = "http://localhost:5173/billing"
    webhook_ledger_retention_days: int = Field(default=90, ge=1)
    # Stripe Connect (providers paid for bookings). Connect events come from a second webhook endpoint
    # ("events on connected accounts") with its own secret; unset: the same secret as the platform's.
    stripe_connect_webhook_secret: SecretStr | None = None
    stripe_connect_country: str = Field(default="GB", pattern=r"^[A-Z]{2}$")  # ISO 3166 of new accounts
    # Where Stripe's hosted onboarding sends the provider back (return) or when the link expired (refresh).
    connect_return_url: str = "http://localhost:5173/payouts?onboarding=done"
    connect_refresh_url: str = "http://localhost:5173/payouts?onboarding=refresh"
    # How often stored subscription state is compared with Stripe's (drift check); 0 turns it off.
    billing_drift_check_hours: float = Field(default=24.0, ge=0)

    # Rate limits (the `limits` notation), per client IP and per account/user; shared through Redis when
    # REDIS_URL is set. Defaults are at least as strict as established products'.
    http_rate_limits: bool = True  # off only for test suites that exercise other things
    rate_login_ip: str = ""  # empty: RATE_LOGIN_IP above, or DEV_RATE_LOGIN_IP when ENVIRONMENT=dev
    rate_login_account: str = "10/15 minutes"
    rate_register_ip: str = "10/hour"
    rate_request_create_user: str = "30/hour"
    rate_search: str = "120/minute"  # per user when signed in, else per IP
    rate_reset_ip: str = "5/30 minutes"
    rate_reset_account: str = "5/hour"
    rate_verify_resend_ip: str = "5/hour"
    rate_verify_resend_account: str = "3/hour"
    # How long a create retried with the Idempotency-Key of a call still running waits for that call to
    # finish (then replays its response) before answering 409 `idempotency_key_in_use` (seconds).
    idempotency_wait_seconds: float = Field(default=10.0, ge=0)
    # The current terms and privacy notice: sign-up must accept exactly these versions.
    terms_version: str = "2026-11-01"
    privacy_version: str = "2026-11-01"
    # The web app's address: account mail links point at its pages (which call the API).
    app_url: str = "http://localhost:5173"
    # Notifications: how often the outbox relay and the mail job run (seconds).
    notify_relay_interval_seconds: float = Field(default=1.0, gt=0)
    mail_interval_seconds: float = Field(default=5.0, gt=0)
    # Geocoding: the offline gazetteer unless MAPBOX_TOKEN is set.
    mapbox_token: SecretStr | None = None
    mapbox_api_url: str = "https://api.mapbox.com"
    geocoder_timeout_seconds: float = Field(default=5.0, gt=0)
    geocode_cache_seconds: int = Field(default=7 * 24 * 3600, ge=0)
    # Mixed into the daily tie-break of search ranking, so the rotation cannot be predicted from outside.
    search_ranking_salt: SecretStr = SecretStr("")
    # How search builds a page (platform_api/search/service.py; both return exactly the same pages):
    # "whole" reads every match (prefiltered in the engine) and ranks them; "page" has the engine count
    # the matches per tier and return only the rows of the page. On the embedded engine every aggregation
    # also counts the whole collection, so "page" costs more as the collection grows (bench/README.md);
    # and "page" decides "within reach" to the engine's float precision (millimetres at a rim; README).
    search_plan: Literal["whole", "page"] = "whole"

    @model_validator(mode="after")
    def _login_limit_of_the_environment(self) -> Self:
        if not self.rate_login_ip:
            self.rate_login_ip = DEV_RATE_LOGIN_IP if self.environment is Environment.dev else RATE_LOGIN_IP
        return self

    def check_secrets(self) -> None:
        super().check_secrets()
        if self.environment is not Environment.production:
            return
        if self.stripe_secret_key.get_secret_value() == DEV_STRIPE_SECRET_KEY:
            raise ValueError("STRIPE_SECRET_KEY must be set in production")
        if self.stripe_webhook_secret.get_secret_value() == DEV_STRIPE_WEBHOOK_SECRET:
            raise ValueError("STRIPE_WEBHOOK_SECRET must be set in production")
        if self.stripe_api_base and "stripe.com" not in self.stripe_api_base:
            raise ValueError("STRIPE_API_BASE must be unset (or Stripe's own) in production")

    @property
    def secure_cookies(self) -> bool:
        return self.environment is not Environment.dev
