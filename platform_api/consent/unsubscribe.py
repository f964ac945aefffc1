"""One-click unsubscribe (RFC 8058): a signed link per non-essential email, usable without logging in."""

import base64
import hmac
from hashlib import sha256

from platform_api.config import Settings
from platform_api.consent.errors import UnsubscribeInvalid


def _mac(settings: Settings, payload: bytes) -> str:
    key = settings.jwt_secret.get_secret_value().encode()
    return (
        base64.urlsafe_b64encode(hmac.new(key, b"unsubscribe:" + payload, sha256).digest())
        .decode()
        .rstrip("=")
    )


def unsubscribe_token(settings: Settings, user_id: str, scope: str) -> str:
    payload = f"{user_id}|{scope}".encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=") + "." + _mac(settings, payload)


def read_token(settings: Settings, token: str) -> tuple[str, str]:
    """(user id, scope) of a token this service signed; anything else (tampered, truncated) is refused."""
    encoded, _, mac = token.partition(".")
    try:
        payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        user_id, scope = payload.decode().split("|", 1)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UnsubscribeInvalid(field="token") from exc
    # compare_digest refuses (TypeError) a str with non-ASCII characters: such a mac is simply not ours.
    if not mac.isascii() or not hmac.compare_digest(mac, _mac(settings, payload)):
        raise UnsubscribeInvalid(field="token")
    return user_id, scope


def unsubscribe_url(settings: Settings, user_id: str, scope: str) -> str:
    return f"{settings.public_url}{settings.api_prefix}/email/unsubscribe?token={unsubscribe_token(settings, user_id, scope)}"
