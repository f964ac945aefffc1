"""Stripe's webhook signature scheme (`Stripe-Signature: t=…,v1=…`), computed by the stripe SDK itself."""

from stripe import WebhookSignature


def signature_header(payload: str, secret: str, timestamp: int | None = None) -> str:
    header: str = WebhookSignature.generate_signature_header(payload, secret, timestamp)
    return header
