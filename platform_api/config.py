"""Platform settings, read once from the environment at start-up and passed down (see .env.example)."""

from pydantic import Field

from shared_models.settings import CommonSettings, Environment


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
    s3_secret_access_key: str = "dev-secret"  # noqa: S105 - local stand-in only
    # Outgoing mail (any SMTP in production, the aiosmtpd sink locally).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    mail_from: str = "Marketplace <no-reply@marketplace.local>"

    @property
    def secure_cookies(self) -> bool:
        return self.environment is not Environment.dev
