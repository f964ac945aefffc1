"""The edge of Stripe's webhook: a FastAPI dependency that admits only a delivery Stripe signed.

Checks, in order: the declared and actual body size (at most `MAX_WEBHOOK_BODY`; Stripe's events are a few
KB), the `Stripe-Signature` header by Stripe's scheme (HMAC-SHA256 of `t.body` with the endpoint secret,
timestamp within `STRIPE_WEBHOOK_TOLERANCE_SECONDS`; the stripe SDK's `WebhookSignature.verify_header`; the
secret of the platform endpoint or of the Connect endpoint, `STRIPE_CONNECT_WEBHOOK_SECRET`), and
that the body is a Stripe event (`object: "event"` with an id, a type and `data.object`). A refused delivery
is recorded in the ledger as `rejected` and answers 400 `invalid_signature` (413 `payload_too_large` for a
body too large to be Stripe's) — nothing else happens.
"""

import contextlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import stripe
import structlog
from fastapi import Depends, Request

from platform_api.billing.errors import InvalidSignature, PayloadTooLarge
from platform_api.billing.webhook.ledger import kept_headers
from platform_api.deps import get_webhook

if TYPE_CHECKING:
    from platform_api.billing.webhook.handler import StripeWebhook
    from platform_api.config import Settings

log = structlog.get_logger(__name__)
MAX_WEBHOOK_BODY = 1024 * 1024  # bytes; Stripe's events are a few KB: anything near this is not Stripe


@dataclass(frozen=True)
class VerifiedDelivery:
    """A delivery Stripe signed: the event, its raw text (for the ledger) and the headers worth keeping."""

    event: dict[str, Any]
    raw: str
    headers: dict[str, str]


def parse_event(
    body: bytes, signature: str | None, secrets: str | list[str], tolerance: int
) -> dict[str, Any]:
    """The event of a body signed with one of `secrets` (the platform endpoint's and, for Connect events,
    the Connect endpoint's). Raises `stripe.SignatureVerificationError`, or ValueError / KeyError /
    TypeError for a body that is not a Stripe event."""
    payload = body.decode("utf-8")
    *others, last = [secrets] if isinstance(secrets, str) else secrets
    for secret in others:
        with contextlib.suppress(stripe.SignatureVerificationError):
            stripe.WebhookSignature.verify_header(payload, signature, secret, tolerance)
            break
    else:
        stripe.WebhookSignature.verify_header(payload, signature, last, tolerance)  # raises as Stripe does
    event = json.loads(body)
    if not isinstance(event, dict) or event.get("object") != "event":
        raise ValueError("the body is not a Stripe event")
    data = event.get("data")
    if not (
        isinstance(event.get("id"), str)
        and isinstance(event.get("type"), str)
        and isinstance(data, dict)
        and isinstance(data.get("object"), dict)
    ):
        raise ValueError("the body is not a Stripe event (an id, a type and a data object)")
    return event


def endpoint_secrets(settings: "Settings") -> list[str]:
    """The signing secrets of our endpoints: the platform's, then Connect's when it has its own."""
    connect = settings.stripe_connect_webhook_secret
    extra = [connect.get_secret_value()] if connect is not None and connect.get_secret_value() else []
    return [settings.stripe_webhook_secret.get_secret_value(), *extra]


async def verified_delivery(
    request: Request, webhook: Annotated["StripeWebhook", Depends(get_webhook)]
) -> VerifiedDelivery:
    """The dependency: the verified delivery, or the typed refusal (recorded in the ledger)."""
    declared = request.headers.get("content-length", "0")
    if declared.isdigit() and int(declared) > MAX_WEBHOOK_BODY:
        raise PayloadTooLarge("The body is larger than any Stripe event.")
    body = await request.body()
    if len(body) > MAX_WEBHOOK_BODY:
        raise PayloadTooLarge("The body is larger than any Stripe event.")
    headers = kept_headers(request.headers)
    text = body.decode("utf-8", errors="replace")
    settings = webhook.settings
    try:
        event = parse_event(
            body,
            request.headers.get("stripe-signature"),
            endpoint_secrets(settings),
            settings.stripe_webhook_tolerance_seconds,
        )
    except (stripe.SignatureVerificationError, ValueError, KeyError, TypeError) as exc:
        why = str(exc).split(".")[0][:200] or type(exc).__name__
        await webhook.ledger.reject(text, headers, why)
        log.warning("billing.webhook_rejected", reason=why)
        raise InvalidSignature(f"Webhook rejected: {why}.", field="Stripe-Signature") from exc
    return VerifiedDelivery(event, text, headers)
