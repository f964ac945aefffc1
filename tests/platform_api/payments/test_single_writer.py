"""The payments domain's single writers, checked on the source (`tests/architecture.writers_of`): a booking's
payment state only by the webhook reducer, a connected account's capabilities only by it too (onboarding only
creates the account, with every capability off), the money instructions only by the settlement."""

import ast
from pathlib import Path

import pytest

from tests.architecture import ROOT, writers_of

REDUCER = "platform_api/payments/reducer.py"
ONBOARDING = "platform_api/payments/accounts.py"
SETTLEMENT = "platform_api/payments/settlement.py"


def test_only_the_webhook_reducer_writes_a_payment() -> None:
    assert set(writers_of("BookingPayment")) == {REDUCER}


def test_only_the_settlement_writes_money_instructions() -> None:
    assert set(writers_of("PaymentInstruction")) == {SETTLEMENT}


def test_onboarding_only_creates_a_connected_account_and_the_reducer_writes_the_rest() -> None:
    assert set(writers_of("ConnectedAccount")) == {REDUCER, ONBOARDING}
    tree = ast.parse((ROOT / ONBOARDING).read_text())
    calls = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert "insert" in calls
    assert not calls & {"replace", "save", "update", "set", "replace_if", "update_one", "upsert"}
    # What it creates has every capability off: Stripe's account.updated is the only source of them.
    source = (ROOT / ONBOARDING).read_text()
    for capability in ("charges_enabled", "payouts_enabled", "details_submitted", "requirements_due"):
        assert f"{capability}=" not in source


@pytest.mark.parametrize(
    ("rel", "source"),
    [
        ("platform_api/bookings/sneaky.py", "from shared_models.documents.payments import BookingPayment\n"
         "async def f(p: BookingPayment) -> None:\n    await p.save()\n"),
        ("platform_api/payments/service.py", "from shared_models import store\n"
         "from shared_models.documents.payments import BookingPayment\n"
         "async def f(p: BookingPayment) -> None:\n    await store.replace_if({}, p)\n"),
    ],
)  # fmt: skip
def test_the_check_catches_another_writer(tmp_path: Path, rel: str, source: str) -> None:
    (tmp_path / rel).parent.mkdir(parents=True)
    (tmp_path / rel).write_text(source)
    assert set(writers_of("BookingPayment", tmp_path, ("platform_api",))) == {rel}
