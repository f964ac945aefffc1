"""Driving the local Stripe stand-in the way a paying customer or Stripe itself would (dev command, seed,
tests): complete a checkout, change or cancel a subscription, fail or recover a payment, finish or restrict
Express onboarding, confirm a PaymentIntent; and hold, take or wait for the webhooks the stand-in sends."""

from typing import Any

import httpx

Json = dict[str, Any]


async def complete_checkout(api_base: str, session_id: str, deliver: bool = False) -> list[Json]:
    """The customer pays: the subscription exists; returns the events Stripe would send (delivered to the
    configured webhook target too when `deliver`)."""
    return await _control(api_base, f"/_fake/checkout/{session_id}/complete", {"deliver": deliver})


async def change_subscription(
    api_base: str, subscription_id: str, action: str, deliver: bool = False, **changes: Any
) -> list[Json]:
    """`action`: update (price=, cancel_at_period_end=, status=), cancel, payment_failed, payment_succeeded."""
    body = {"deliver": deliver, **changes}
    return await _control(api_base, f"/_fake/subscriptions/{subscription_id}/{action}", body)


async def _control(api_base: str, path: str, body: Json) -> list[Json]:
    async with httpx.AsyncClient(base_url=api_base, timeout=60) as client:
        response = await client.post(path, json=body)
    response.raise_for_status()
    events: list[Json] = response.json()["events"]
    return events


# --- Connect and payments: their events are delivered by the stand-in's worker, not by these calls -----------


async def onboard_account(api_base: str, account_id: str) -> Json:
    """The account holder finishes Express onboarding; returns the account (`account.updated` is sent)."""
    account: Json = (await _post(api_base, f"/_fake/accounts/{account_id}/onboard", {}))["account"]
    return account


async def restrict_account(api_base: str, account_id: str) -> Json:
    """Stripe needs more from the account holder: charges and payouts disabled, a requirement past due."""
    account: Json = (await _post(api_base, f"/_fake/accounts/{account_id}/restrict", {}))["account"]
    return account


async def confirm_payment(
    api_base: str, payment_intent_id: str, payment_method: str = "pm_card_visa"
) -> Json:
    """What the app's Payment Element does with the client secret; returns the PaymentIntent (a declined card
    leaves it in requires_payment_method with `last_payment_error`)."""
    body = {"payment_method": payment_method}
    intent: Json = (await _post(api_base, f"/_fake/payment_intents/{payment_intent_id}/confirm", body))[
        "payment_intent"
    ]
    return intent


async def hold_webhooks(api_base: str, held: bool) -> None:
    """While held, new Connect and payment events are kept instead of sent (releasing sends nothing)."""
    await _post(api_base, "/_fake/webhooks/hold", {"held": held})


async def held_events(api_base: str) -> list[Json]:
    """The events kept while held, oldest first; the stand-in forgets them."""
    async with httpx.AsyncClient(base_url=api_base, timeout=60) as client:
        response = await client.get("/_fake/webhooks/held")
    response.raise_for_status()
    events: list[Json] = response.json()["events"]
    return events


async def flush_webhooks(api_base: str) -> list[Json]:
    """Wait until every event queued so far was sent; `{event_id, type, status, attempts}` per event sent
    since the last flush."""
    delivered: list[Json] = (await _post(api_base, "/_fake/webhooks/flush", {}))["delivered"]
    return delivered


async def _post(api_base: str, path: str, body: Json) -> Json:
    async with httpx.AsyncClient(base_url=api_base, timeout=60) as client:
        response = await client.post(path, json=body)
    response.raise_for_status()
    answer: Json = response.json()
    return answer
