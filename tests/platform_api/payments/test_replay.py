"""The replay script feeds the payments domain's events through the one handler too: an onboarding and a card
authorisation whose webhooks were all lost are recovered by `scripts.stripe_replay`."""

import asyncio
from datetime import UTC, datetime, timedelta

import httpx

from scripts.stripe_fake.control import confirm_payment, onboard_account
from shared_models.clock import ManualClock
from shared_models.documents import WebhookDelivery
from tests.conftest import Engine
from tests.factories import API
from tests.platform_api.billing.helpers import replay
from tests.platform_api.bookings.helpers import make_parties
from tests.platform_api.payments.helpers import (
    card_booking,
    connected_account_id,
    payment_of,
    start_payment,
)


def replayed(engine: Engine, db_name: str, stripe_api: str, since: datetime) -> str:
    done = replay(engine, db_name, stripe_api, since)
    assert done.returncode == 0, done.stderr
    return done.stdout


def processed(printed: str, event_type: str) -> bool:
    """Whether the replay printed an event of this type as processed (`<id>  <type>  <outcome>  <detail>`)."""
    return any(line.split()[1:3] == [event_type, "processed"] for line in printed.splitlines())


async def test_replay_recovers_a_lost_onboarding_and_a_lost_card_authorisation(
    api: httpx.AsyncClient, engine: Engine, db_name: str, stripe_api: str, clock: ManualClock
) -> None:
    """The suite's stand-in sends no webhooks: every payment event below is lost until the replay."""
    since = datetime.now(UTC) - timedelta(seconds=1)
    p = await make_parties(api)
    account_id = await connected_account_id(api, p.provider)
    await onboard_account(stripe_api, account_id)
    account = await api.get(f"{API}/payments/account", headers=p.provider.bearer)
    assert account.json()["charges_enabled"] is False  # Stripe enabled it; we never heard

    first = await asyncio.to_thread(replayed, engine, db_name, stripe_api, since)
    account = await api.get(f"{API}/payments/account", headers=p.provider.bearer)
    assert account.json()["charges_enabled"] is True, first

    assert processed(first, "account.updated"), first

    booking = await card_booking(api, p, clock.now())
    await start_payment(api, p, booking)
    await confirm_payment(stripe_api, booking.payment_intent_id)  # authorised at Stripe; the webhook lost
    assert (await payment_of(api, p.customer, booking))["status"] == "requires_payment_method"

    second = await asyncio.to_thread(replayed, engine, db_name, stripe_api, since)
    payment = await payment_of(api, p.customer, booking)
    assert payment["status"] == "requires_capture", second
    assert payment["amount_capturable"] == booking.amount
    assert processed(second, "payment_intent.amount_capturable_updated"), second
    assert await WebhookDelivery.find(WebhookDelivery.source == "replay").count() > 0
