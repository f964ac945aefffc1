"""The Stripe stand-in's Connect and payments side, driven with the real stripe SDK against the real process:
Express accounts and onboarding, destination charges (confirm, capture, cancel), refunds with transfer
reversals and fee refunds, idempotency keys, and the signed webhooks its worker sends on its own."""

import json
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe

from scripts import stack
from scripts.processes import free_port
from scripts.stripe_fake import control
from tests.factories import TEST_STRIPE_WEBHOOK_SECRET

Json = dict[str, Any]


class Receiver(ThreadingHTTPServer):
    """A webhook endpoint: verifies each Stripe signature, records the events (or answers 500 when told)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", free_port()), _ReceiverHandler)
        self.events: list[Json] = []
        self.bad_signatures = 0
        self.failures_left = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/webhook"

    def types(self, object_ids: set[str] | None = None) -> list[str]:
        return [
            e["type"] for e in self.events if object_ids is None or e["data"]["object"]["id"] in object_ids
        ]


class _ReceiverHandler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        payload = self.rfile.read(int(self.headers["Content-Length"])).decode()
        status = 200
        with self.server.lock:
            try:
                stripe.WebhookSignature.verify_header(
                    payload, self.headers["Stripe-Signature"], TEST_STRIPE_WEBHOOK_SECRET, tolerance=300
                )
            except stripe.SignatureVerificationError:
                self.server.bad_signatures += 1
                status = 400
            if status == 200 and self.server.failures_left > 0:
                self.server.failures_left -= 1
                status = 500
            if status == 200:
                self.server.events.append(json.loads(payload))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def fake_url(run_dir: Path, receiver: Receiver) -> Iterator[str]:
    port = free_port()
    proc = stack.stripe_fake(port, run_dir / "logs", receiver.url, TEST_STRIPE_WEBHOOK_SECRET).start()
    yield f"http://127.0.0.1:{port}"
    proc.stop()


@pytest.fixture
async def hooks(fake_url: str, receiver: Receiver) -> AsyncIterator[Receiver]:
    """The receiver, emptied of what earlier tests caused; delivery released again afterwards."""
    await control.flush_webhooks(fake_url)
    receiver.events.clear()
    yield receiver
    await control.hold_webhooks(fake_url, False)
    await control.held_events(fake_url)


@pytest.fixture
def client(fake_url: str) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key="sk_test_x",
        base_addresses={"api": fake_url},
        http_client=stripe.HTTPXClient(allow_sync_methods=True),
    )


def express_account(client: stripe.StripeClient) -> stripe.Account:
    return client.v1.accounts.create(
        params={
            "type": "express",
            "country": "GB",
            "email": "pro@example.com",
            "metadata": {"provider_id": "p1"},
            "capabilities": {"card_payments": {"requested": True}, "transfers": {"requested": True}},
        }
    )


async def onboarded_account(client: stripe.StripeClient, fake_url: str) -> str:
    account = express_account(client)
    await control.onboard_account(fake_url, account.id)
    return account.id


def destination_intent(
    client: stripe.StripeClient, destination: str, amount: int = 10000, fee: int | None = 1500, **extra: Any
) -> stripe.PaymentIntent:
    params: dict[str, Any] = {
        "amount": amount,
        "currency": "GBP",
        "capture_method": "manual",
        "transfer_data": {"destination": destination},
        "automatic_payment_methods": {"enabled": True},
        "metadata": {"booking_id": "b1"},
        **extra,
    }
    if fee is not None:
        params["application_fee_amount"] = fee
    return client.v1.payment_intents.create(params=params)


async def captured_intent(
    client: stripe.StripeClient, fake_url: str, amount: int = 10000, fee: int = 1500
) -> str:
    intent = destination_intent(client, await onboarded_account(client, fake_url), amount, fee)
    await control.confirm_payment(fake_url, intent.id)
    client.v1.payment_intents.capture(intent.id)
    return intent.id


def refused(call: Any) -> stripe.StripeError:
    with pytest.raises(stripe.StripeError) as caught:
        call()
    return caught.value


# --- Connect --------------------------------------------------------------------------------------------------


async def test_express_account_onboards_through_its_link_then_gets_a_login_link(
    client: stripe.StripeClient, fake_url: str, hooks: Receiver
) -> None:
    account = express_account(client)
    assert account.type == "express" and account.country == "GB" and account.default_currency == "gbp"
    assert (account.charges_enabled, account.payouts_enabled, account.details_submitted) == (
        False,
        False,
        False,
    )
    assert account.capabilities.to_dict() == {"card_payments": "inactive", "transfers": "inactive"}
    assert account.requirements.disabled_reason == "requirements.past_due"
    assert "external_account" in account.requirements.currently_due
    refusal = refused(lambda: client.v1.accounts.login_links.create(account.id))
    assert refusal.http_status == 400 and "not completed onboarding" in str(refusal.user_message)

    link = client.v1.account_links.create(
        params={
            "account": account.id,
            "refresh_url": "http://app.test/refresh",
            "return_url": "http://app.test/return",
            "type": "account_onboarding",
        }
    )
    assert link.url.startswith(f"{fake_url}/connect/onboarding/{account.id}?link=")
    assert link.expires_at == link.created + 300
    async with httpx.AsyncClient() as browser:
        assert "Complete onboarding" in (await browser.get(link.url)).text
        finished = await browser.post(link.url)
        assert (finished.status_code, finished.headers["location"]) == (303, "http://app.test/return")
        # A used link is stale: Stripe sends the user to refresh_url for a new one.
        assert (await browser.get(link.url)).headers["location"] == "http://app.test/refresh"

    account = client.v1.accounts.retrieve(account.id)
    assert (account.charges_enabled, account.payouts_enabled, account.details_submitted) == (True, True, True)
    assert account.capabilities.to_dict() == {"card_payments": "active", "transfers": "active"}
    assert account.requirements.currently_due == [] and account.requirements.disabled_reason is None
    login = client.v1.accounts.login_links.create(account.id)
    assert login.url == f"{fake_url}/express/{account.id}"
    async with httpx.AsyncClient() as browser:
        assert account.id in (await browser.get(login.url)).text

    delivered = await control.flush_webhooks(fake_url)
    assert [(d["type"], d["status"]) for d in delivered] == [("account.updated", 200)]
    event = hooks.events[0]
    assert event["account"] == account.id and event["data"]["object"]["charges_enabled"] is True
    previous = event["data"]["previous_attributes"]
    assert previous["charges_enabled"] is False and previous["capabilities"]["transfers"] == "inactive"


async def test_account_link_for_an_unknown_account_is_refused(client: stripe.StripeClient) -> None:
    params = {"account": "acct_missing", "refresh_url": "http://a/r", "return_url": "http://a/b"}
    refusal = refused(lambda: client.v1.account_links.create(params={**params, "type": "account_onboarding"}))
    assert refusal.http_status == 400 and refusal.code == "resource_missing"


async def test_restricted_account_takes_no_destination_charges(
    client: stripe.StripeClient, fake_url: str, hooks: Receiver
) -> None:
    account_id = await onboarded_account(client, fake_url)
    restricted = await control.restrict_account(fake_url, account_id)
    assert restricted["charges_enabled"] is False
    assert restricted["requirements"]["past_due"] and restricted["requirements"]["disabled_reason"] == (
        "requirements.past_due"
    )
    refusal = refused(lambda: destination_intent(client, account_id))
    assert refusal.code == "insufficient_capabilities_for_transfer"
    await control.flush_webhooks(fake_url)
    assert hooks.types() == ["account.updated", "account.updated"]


# --- PaymentIntents -------------------------------------------------------------------------------------------


async def test_payment_intent_is_created_in_stripes_shape(
    client: stripe.StripeClient, fake_url: str, hooks: Receiver
) -> None:
    account_id = await onboarded_account(client, fake_url)
    intent = destination_intent(client, account_id, description="Deep clean")
    assert intent.status == "requires_payment_method" and intent.currency == "gbp"
    assert intent.client_secret.startswith(f"{intent.id}_secret_")
    assert (intent.amount, intent.amount_capturable, intent.amount_received) == (10000, 0, 0)
    assert intent.latest_charge is None and intent.capture_method == "manual"
    assert intent.transfer_data.destination == account_id and intent.application_fee_amount == 1500
    assert intent.metadata.to_dict() == {"booking_id": "b1"} and intent.description == "Deep clean"
    assert client.v1.payment_intents.retrieve(intent.id).client_secret == intent.client_secret
    await control.flush_webhooks(fake_url)
    assert hooks.types({intent.id}) == ["payment_intent.created"]


@pytest.mark.parametrize(
    ("amount", "fee", "onboard", "code", "param"),
    [
        (29, None, True, "amount_too_small", "amount"),  # Stripe's GBP minimum is 0.30
        (100_000_000, None, True, "amount_too_large", "amount"),
        (1000, 1001, True, "parameter_invalid_integer", "application_fee_amount"),
        (1000, 100, False, "insufficient_capabilities_for_transfer", "transfer_data[destination]"),
    ],
)
async def test_payment_intent_is_refused_as_stripe_refuses_it(
    client: stripe.StripeClient,
    fake_url: str,
    amount: int,
    fee: int | None,
    onboard: bool,
    code: str,
    param: str,
) -> None:
    account = express_account(client)
    if onboard:
        await control.onboard_account(fake_url, account.id)
    refusal = refused(lambda: destination_intent(client, account.id, amount, fee))
    assert refusal.http_status == 400 and refusal.code == code and refusal.param == param


async def test_unknown_destination_is_refused(client: stripe.StripeClient) -> None:
    refusal = refused(lambda: destination_intent(client, "acct_nobody"))
    assert refusal.code == "resource_missing" and refusal.param == "transfer_data[destination]"


async def test_manual_payment_is_authorized_then_captured_with_transfer_and_fee(
    client: stripe.StripeClient, fake_url: str, hooks: Receiver
) -> None:
    account_id = await onboarded_account(client, fake_url)
    intent = destination_intent(client, account_id)
    authorized = await control.confirm_payment(fake_url, intent.id)
    assert authorized["status"] == "requires_capture" and authorized["amount_capturable"] == 10000
    charge = client.v1.charges.retrieve(authorized["latest_charge"])
    assert (charge.captured, charge.amount, charge.amount_captured, charge.payment_intent) == (
        False,
        10000,
        0,
        intent.id,
    )
    assert charge.transfer_data.destination == account_id and charge.application_fee_amount == 1500

    captured = client.v1.payment_intents.capture(intent.id, params={"expand": ["latest_charge"]})
    assert (captured.status, captured.amount_received, captured.amount_capturable) == ("succeeded", 10000, 0)
    charge = captured.latest_charge
    assert (charge.captured, charge.amount_captured, charge.amount_refunded, charge.refunded) == (
        True,
        10000,
        0,
        False,
    )
    transfer = client.v1.transfers.retrieve(charge.transfer)
    assert (transfer.amount, transfer.destination, transfer.source_transaction) == (
        10000,
        account_id,
        charge.id,
    )
    assert transfer.amount_reversed == 0
    fee = client.v1.application_fees.retrieve(charge.application_fee)
    assert (fee.amount, fee.account, fee.charge, fee.amount_refunded) == (1500, account_id, charge.id, 0)

    delivered = await control.flush_webhooks(fake_url)
    assert all(d["status"] == 200 for d in delivered) and hooks.bad_signatures == 0
    assert hooks.types({intent.id, charge.id, transfer.id, fee.id}) == [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.amount_capturable_updated",
        "charge.captured",
        "payment_intent.succeeded",
        "transfer.created",
        "application_fee.created",
    ]
    listed = client.v1.events.list(params={"limit": 100}).data
    sent_ids = [e["id"] for e in hooks.events]
    assert sent_ids == [e.id for e in reversed(listed) if e.id in sent_ids]


async def test_partial_capture_moves_only_the_captured_amount(
    client: stripe.StripeClient, fake_url: str
) -> None:
    intent = destination_intent(client, await onboarded_account(client, fake_url))
    await control.confirm_payment(fake_url, intent.id)
    too_much = refused(
        lambda: client.v1.payment_intents.capture(intent.id, params={"amount_to_capture": 10001})
    )
    assert too_much.http_status == 400 and too_much.param == "amount_to_capture"

    captured = client.v1.payment_intents.capture(
        intent.id, params={"amount_to_capture": 6000, "expand": ["latest_charge"]}
    )
    assert (captured.status, captured.amount_received, captured.amount_capturable) == ("succeeded", 6000, 0)
    charge = captured.latest_charge
    # As at Stripe, the uncaptured rest is released and counted as refunded.
    assert (charge.amount, charge.amount_captured, charge.amount_refunded) == (10000, 6000, 4000)
    assert client.v1.transfers.retrieve(charge.transfer).amount == 6000
    assert client.v1.application_fees.retrieve(charge.application_fee).amount == 1500


async def test_automatic_capture_succeeds_at_confirmation(
    client: stripe.StripeClient, fake_url: str, hooks: Receiver
) -> None:
    account_id = await onboarded_account(client, fake_url)
    intent = destination_intent(client, account_id, 5000, None, capture_method="automatic")
    paid = client.v1.payment_intents.confirm(intent.id, params={"payment_method": "pm_card_visa"})
    assert (paid.status, paid.amount_received) == ("succeeded", 5000)
    charge = client.v1.charges.retrieve(paid.latest_charge)
    assert charge.captured and charge.application_fee is None
    await control.flush_webhooks(fake_url)
    assert hooks.types({intent.id, charge.id, charge.transfer}) == [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
        "transfer.created",
    ]


async def test_declined_card_leaves_the_intent_payable(
    client: stripe.StripeClient, fake_url: str, hooks: Receiver
) -> None:
    intent = destination_intent(client, await onboarded_account(client, fake_url))
    with pytest.raises(stripe.CardError) as declined:
        client.v1.payment_intents.confirm(intent.id, params={"payment_method": "pm_card_chargeDeclined"})
    assert declined.value.http_status == 402 and declined.value.code == "card_declined"
    assert declined.value.error is not None and declined.value.error.decline_code == "generic_decline"
    failed = client.v1.payment_intents.retrieve(intent.id)
    assert failed.status == "requires_payment_method"
    assert failed.last_payment_error is not None and failed.last_payment_error.code == "card_declined"
    assert client.v1.charges.retrieve(failed.latest_charge).status == "failed"

    poor = await control.confirm_payment(fake_url, intent.id, "pm_card_visa_chargeDeclinedInsufficientFunds")
    assert poor["last_payment_error"]["decline_code"] == "insufficient_funds"
    assert (await control.confirm_payment(fake_url, intent.id))["status"] == "requires_capture"
    await control.flush_webhooks(fake_url)
    assert hooks.types({intent.id}) == [
        "payment_intent.created",
        "payment_intent.payment_failed",
        "payment_intent.payment_failed",
        "payment_intent.amount_capturable_updated",
    ]
    assert [t for t in hooks.types() if t.startswith("charge.")] == [
        "charge.failed",
        "charge.failed",
        "charge.succeeded",
    ]


async def test_authorization_is_canceled_and_a_succeeded_payment_is_not(
    client: stripe.StripeClient, fake_url: str, hooks: Receiver
) -> None:
    account_id = await onboarded_account(client, fake_url)
    intent = destination_intent(client, account_id)
    early = refused(lambda: client.v1.payment_intents.capture(intent.id))
    assert early.code == "payment_intent_unexpected_state"
    await control.confirm_payment(fake_url, intent.id)
    canceled = client.v1.payment_intents.cancel(
        intent.id, params={"cancellation_reason": "requested_by_customer"}
    )
    assert (canceled.status, canceled.amount_capturable) == ("canceled", 0)
    assert canceled.cancellation_reason == "requested_by_customer" and canceled.canceled_at is not None

    paid_id = await captured_intent(client, fake_url)
    for action in (client.v1.payment_intents.cancel, client.v1.payment_intents.capture):
        refusal = refused(lambda action=action: action(paid_id))
        assert refusal.http_status == 400 and refusal.code == "payment_intent_unexpected_state"
    refusal = refused(lambda: client.v1.payment_intents.confirm(paid_id))
    assert refusal.code == "payment_intent_unexpected_state"
    await control.flush_webhooks(fake_url)
    assert hooks.types({intent.id})[-1] == "payment_intent.canceled"
    assert "payment_intent.canceled" not in hooks.types({paid_id})


# --- refunds --------------------------------------------------------------------------------------------------


async def test_partial_refund_then_the_rest_reverse_the_transfer_and_fee_pro_rata(
    client: stripe.StripeClient, fake_url: str, hooks: Receiver
) -> None:
    intent_id = await captured_intent(client, fake_url)
    charge = client.v1.charges.retrieve(client.v1.payment_intents.retrieve(intent_id).latest_charge)
    refund_params = {"payment_intent": intent_id, "reverse_transfer": True, "refund_application_fee": True}
    first = client.v1.refunds.create(
        params={**refund_params, "amount": 2500, "reason": "requested_by_customer"}
    )
    assert (first.amount, first.status, first.charge, first.payment_intent) == (
        2500,
        "succeeded",
        charge.id,
        intent_id,
    )
    assert first.reason == "requested_by_customer" and first.source_transfer_reversal is None
    transfer = client.v1.transfers.retrieve(charge.transfer)
    assert transfer.amount_reversed == 2500 and transfer.reversals.data[0].id == first.transfer_reversal
    fee = client.v1.application_fees.retrieve(charge.application_fee)
    assert (fee.amount_refunded, fee.refunded) == (375, False)

    too_large = refused(
        lambda: client.v1.refunds.create(params={"payment_intent": intent_id, "amount": 7501})
    )
    assert too_large.code == "amount_too_large"
    rest = client.v1.refunds.create(params=refund_params)
    assert rest.amount == 7500
    charge = client.v1.charges.retrieve(charge.id)
    assert (charge.amount_refunded, charge.refunded) == (10000, True)
    transfer = client.v1.transfers.retrieve(charge.transfer)
    assert (transfer.amount_reversed, transfer.reversed) == (10000, True)
    fee = client.v1.application_fees.retrieve(charge.application_fee)
    assert (fee.amount_refunded, fee.refunded) == (1500, True)
    listed = client.v1.refunds.list(params={"payment_intent": intent_id, "limit": 10})
    assert [r.id for r in listed.data] == [rest.id, first.id]
    again = refused(lambda: client.v1.refunds.create(params={"payment_intent": intent_id}))
    assert again.code == "charge_already_refunded"

    await control.flush_webhooks(fake_url)
    assert hooks.types({rest.id, charge.id, transfer.id, fee.id})[-5:] == [
        "refund.created",
        "charge.refunded",
        "refund.updated",
        "transfer.reversed",
        "application_fee.refunded",
    ]


async def test_fee_refund_rounds_half_up_and_the_last_refund_takes_the_rest(
    client: stripe.StripeClient, fake_url: str
) -> None:
    intent_id = await captured_intent(client, fake_url, amount=10000, fee=1234)
    fee_id = client.v1.charges.retrieve(
        client.v1.payment_intents.retrieve(intent_id).latest_charge
    ).application_fee
    params = {"payment_intent": intent_id, "refund_application_fee": True}
    client.v1.refunds.create(params={**params, "amount": 3333})
    assert client.v1.application_fees.retrieve(fee_id).amount_refunded == 411  # 3333 * 1234 / 10000 = 411.29
    client.v1.refunds.create(params={**params, "amount": 5})
    assert client.v1.application_fees.retrieve(fee_id).amount_refunded == 412  # 3338 * 1234 / 10000 = 411.9
    client.v1.refunds.create(params=params)
    assert client.v1.application_fees.retrieve(fee_id).amount_refunded == 1234


async def test_an_uncaptured_payment_is_not_refunded(client: stripe.StripeClient, fake_url: str) -> None:
    intent = destination_intent(client, await onboarded_account(client, fake_url))
    await control.confirm_payment(fake_url, intent.id)
    refusal = refused(lambda: client.v1.refunds.create(params={"payment_intent": intent.id}))
    assert refusal.http_status == 400 and "Cancel the PaymentIntent" in str(refusal.user_message)


# --- idempotency ----------------------------------------------------------------------------------------------


async def test_idempotency_key_replays_the_first_answer_and_refuses_other_params(
    client: stripe.StripeClient, fake_url: str
) -> None:
    intent_id = await captured_intent(client, fake_url)
    params = {"payment_intent": intent_id, "amount": 1000}
    first = client.v1.refunds.create(params=params, options={"idempotency_key": "refund-once"})
    second = client.v1.refunds.create(params=params, options={"idempotency_key": "refund-once"})
    assert second.id == first.id
    assert len(client.v1.refunds.list(params={"payment_intent": intent_id}).data) == 1
    with pytest.raises(stripe.IdempotencyError):
        client.v1.refunds.create(
            params={**params, "amount": 2000}, options={"idempotency_key": "refund-once"}
        )
    # Keys are scoped to the endpoint: the same key creates a PaymentIntent.
    account_id = client.v1.charges.retrieve(
        client.v1.payment_intents.retrieve(intent_id).latest_charge
    ).transfer_data
    other = client.v1.payment_intents.create(
        params={"amount": 500, "currency": "usd", "transfer_data": {"destination": account_id.destination}},
        options={"idempotency_key": "refund-once"},
    )
    assert other.object == "payment_intent"


async def test_idempotency_key_replays_a_refusal(client: stripe.StripeClient, fake_url: str) -> None:
    account = express_account(client)
    key = {"Idempotency-Key": f"login-{account.id}"}
    path = f"/v1/accounts/{account.id}/login_links"
    async with httpx.AsyncClient(base_url=fake_url, headers={"Authorization": "Bearer sk_test_x"}) as http:
        assert (await http.post(path, headers=key)).status_code == 400
        await control.onboard_account(fake_url, account.id)
        replayed = await http.post(path, headers=key)
        assert replayed.status_code == 400 and replayed.headers["Idempotent-Replayed"] == "true"
        assert (await http.post(path)).status_code == 200


# --- delivery -------------------------------------------------------------------------------------------------


async def test_failed_delivery_is_retried(
    client: stripe.StripeClient, fake_url: str, hooks: Receiver
) -> None:
    hooks.failures_left = 1
    account = express_account(client)
    await control.onboard_account(fake_url, account.id)
    delivered = await control.flush_webhooks(fake_url)
    assert [(d["type"], d["status"], d["attempts"]) for d in delivered] == [("account.updated", 200, 2)]
    assert hooks.types() == ["account.updated"]


async def test_held_events_are_kept_in_order_for_the_test_to_send(
    client: stripe.StripeClient, fake_url: str, hooks: Receiver
) -> None:
    account_id = await onboarded_account(client, fake_url)
    await control.flush_webhooks(fake_url)
    hooks.events.clear()
    await control.hold_webhooks(fake_url, True)
    intent = destination_intent(client, account_id)
    await control.confirm_payment(fake_url, intent.id)
    assert await control.flush_webhooks(fake_url) == []
    held = await control.held_events(fake_url)
    assert [e["type"] for e in held] == [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.amount_capturable_updated",
    ]
    assert await control.held_events(fake_url) == []
    await control.hold_webhooks(fake_url, False)
    assert await control.flush_webhooks(fake_url) == [] and hooks.events == []

    client.v1.payment_intents.cancel(intent.id)
    assert [d["type"] for d in await control.flush_webhooks(fake_url)] == ["payment_intent.canceled"]


async def test_hosted_pay_page_confirms_with_the_client_secret_only(
    client: stripe.StripeClient, fake_url: str
) -> None:
    intent = destination_intent(client, await onboarded_account(client, fake_url))
    page = f"{fake_url}/pay/{intent.id}"
    async with httpx.AsyncClient() as browser:
        wrong = await browser.post(page, params={"client_secret": f"{intent.id}_secret_wrong"})
        assert wrong.status_code == 403
        assert client.v1.payment_intents.retrieve(intent.id).status == "requires_payment_method"
        query = {"client_secret": intent.client_secret, "return_url": "http://app.test/paid"}
        assert ">Pay<" in (await browser.get(page, params=query)).text
        paid = await browser.post(page, params=query, data={"payment_method": "pm_card_visa"})
    assert paid.status_code == 303
    assert paid.headers["location"].startswith(f"http://app.test/paid?payment_intent={intent.id}&")
    assert "redirect_status=succeeded" in paid.headers["location"]
    assert client.v1.payment_intents.retrieve(intent.id).status == "requires_capture"
