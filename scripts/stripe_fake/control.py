"""Driving the local Stripe stand-in the way a paying customer or Stripe itself would (dev command, seed,
tests): complete a checkout, change or cancel a subscription, fail or recover a payment."""

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
