"""Subscription state has one writer, the webhook module; the contract check fails on any other."""

from pathlib import Path

import pytest

from tests.contracts import READER, violations

ROOT = Path(__file__).resolve().parents[3]


def test_only_the_webhook_module_writes_subscription_state() -> None:
    assert violations(ROOT) == []


def _package(tmp_path: Path, rel: str, source: str) -> Path:
    target = tmp_path / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(source)
    return tmp_path


@pytest.mark.parametrize(
    ("rel", "source", "why"),
    [
        (
            "platform_api/bookings/sneaky.py",
            "from shared_models.documents import ProviderSubscription\n"
            "async def grant(p):\n    await ProviderSubscription.find_one({'provider_id': p}).set({'status': 'active'})\n",
            "uses ProviderSubscription",
        ),
        (
            "platform_api/admin/sneaky.py",
            "from shared_models import documents\n"
            "async def grant(doc):\n    doc.tier = 'premium'\n    await documents.ProviderSubscription.save(doc)\n",
            "uses ProviderSubscription",
        ),
        (
            "scripts/sneaky.py",
            "async def grant(db):\n    await db['provider_subscriptions'].update_one({}, {'$set': {'tier': 'pro'}})\n",
            "by name",
        ),
        (
            READER,
            "from shared_models.documents import ProviderSubscription\n"
            "async def touch(p):\n    doc = await ProviderSubscription.find_one({'provider_id': p})\n    await doc.save()\n",
            "read-only module calls .save()",
        ),
    ],
)
def test_the_contract_catches_a_write_elsewhere(tmp_path: Path, rel: str, source: str, why: str) -> None:
    found = violations(_package(tmp_path, rel, source))
    assert len(found) == 1 and why in found[0], found


def test_the_contract_lets_the_read_only_module_read(tmp_path: Path) -> None:
    source = (ROOT / READER).read_text()
    assert violations(_package(tmp_path, READER, source)) == []
