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


_READ = (
    "from shared_models import store\nfrom shared_models.documents import ProviderSubscription\n"
    "async def touch(p):\n    doc = await ProviderSubscription.find_one({'provider_id': p})\n"
)


@pytest.mark.parametrize(
    "write",
    [
        "await store.replace_if({'_id': doc.id}, doc.model_copy(update={'tier': 'premium'}))",
        "await store.replace_one_if({'_id': doc.id}, doc.model_copy(update={'tier': 'premium'}))",
        "await store.update_if(ProviderSubscription, {'_id': doc.id}, {'$set': {'tier': 'premium'}})",
        "await store.update_each(ProviderSubscription, [({'_id': doc.id}, {'$set': {'tier': 'premium'}})])",
        "await store.insert_new(ProviderSubscription, [doc.model_dump()])",
        "await store.insert_all(ProviderSubscription, [doc.model_dump()])",
        "await store.claim_window(ProviderSubscription, 'k', 'now', 'until')",
    ],
)
def test_the_contract_catches_the_read_only_module_writing_through_the_store(
    tmp_path: Path, write: str
) -> None:
    found = violations(_package(tmp_path, READER, _READ + f"    {write}\n"))
    assert len(found) == 1 and "read-only module calls" in found[0], found


def test_the_contract_catches_a_store_function_imported_under_another_name(tmp_path: Path) -> None:
    source = _READ.replace("import store", "import store\nfrom shared_models.store import replace_if as put")
    found = violations(_package(tmp_path, READER, source + "    await put({'_id': doc.id}, doc)\n"))
    assert len(found) == 1 and "read-only module calls put() (store.replace_if)" in found[0], found


def test_the_contract_lets_the_read_only_module_read(tmp_path: Path) -> None:
    source = (ROOT / READER).read_text()
    assert violations(_package(tmp_path, READER, source)) == []
