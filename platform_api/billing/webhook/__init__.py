"""Stripe's webhook: the only writer of a provider's subscription state, split by concern.

- `verify`: at the edge, a FastAPI dependency — Stripe's signature scheme (the stripe SDK), the body's size
  and shape; anything unsigned, forged or stale is recorded as rejected and answers 400 with no effect.
- `ledger`: every delivery recorded raw (`WebhookDelivery`: what arrived, how it ended, how long it took)
  and each event id marked processed once (`ProcessedStripeEvent`): a later redelivery returns at once.
- `reducer`: the subscription reducer — the state we keep of a Stripe subscription, the domain events a
  change causes, and the compare-and-set that applies it (order-proof: it re-fetches; see there).
- `publishing`: the domain events ride in the subscription document, then move to the outbox.
- `drift`: the daily check of stored state against Stripe's, repaired only through the handler.
- `handler`: `StripeWebhook`, which runs an event through them: from a delivery, the replay script, an
  admin re-process or the drift check alike.
"""

from platform_api.billing.webhook.handler import StripeWebhook
from platform_api.billing.webhook.ledger import Outcome
from platform_api.billing.webhook.reducer import StripeState
from platform_api.billing.webhook.verify import VerifiedDelivery, verified_delivery

__all__ = [
    "Outcome",
    "StripeState",
    "StripeWebhook",
    "VerifiedDelivery",
    "verified_delivery",
]
