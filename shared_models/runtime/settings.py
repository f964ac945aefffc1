"""Settings both services read from the same environment variables (see .env.example)."""

from enum import StrEnum

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(StrEnum):
    dev = "dev"
    test = "test"
    production = "production"


# A fixed, public key for dev and tests only; production refuses to start with it (see `check_secrets`).
DEV_JWT_SECRET = "dev-only-secret-0123456789abcdef0123456789abcdef"  # noqa: S105


DEV_INTERNAL_TOKEN = "dev-only-internal-token-0123456789abcdef"  # noqa: S105


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: Environment = Environment.dev
    mongodb_uri: str = "mongodb://127.0.0.1:27017/?directConnection=true"
    mongodb_db: str = "marketplace"
    mongodb_timeout_ms: int = Field(default=3000, ge=100)
    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    session_cookie_name: str = "session"
    csrf_cookie_name: str = "csrf_token"
    csrf_header_name: str = "X-CSRF-Token"
    session_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    # Shared secret for service-to-service calls (platform -> chat server internal API).
    internal_api_token: SecretStr = SecretStr(DEV_INTERNAL_TOKEN)
    # Optional Redis: the chat server's Socket.IO manager and shared state, and both services' rate limits.
    redis_url: str | None = None
    # The chat server's Socket.IO pub/sub channel, one per deployment; its shared state in Redis lives under
    # `chat:<channel>:` (the platform writes there too: block generations).
    redis_channel: str = "socketio"
    # Keys of the shared rate limits (in Redis with REDIS_URL) start with this: one per deployment.
    rate_limit_prefix: str = "ratelimit"
    log_level: str = "INFO"
    log_json: bool = False

    def check_secrets(self) -> None:
        """Production must not run on the published dev keys, nor on short ones."""
        if self.environment is not Environment.production:
            return
        for name, value, dev_value in (
            ("JWT_SECRET", self.jwt_secret, DEV_JWT_SECRET),
            ("INTERNAL_API_TOKEN", self.internal_api_token, DEV_INTERNAL_TOKEN),
        ):
            secret = value.get_secret_value()
            if secret == dev_value or len(secret) < 32:
                raise ValueError(f"{name} must be set to a private value of 32+ characters in production")
