"""The layout's rules (`tests/architecture.py`): no import cycle between packages, no web framework in the
models package, one owning domain per document and no write of it from another. Each rule also fails on a
small tree that breaks it, so a rule that silently matched nothing would show."""

from pathlib import Path

import pytest

from shared_models.runtime.registry import DOCUMENT_MODELS
from tests.architecture import OWNERS, cycles, foreign_writes, import_graph, web_imports


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, source in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return root


def test_no_import_cycle_between_packages() -> None:
    assert cycles(import_graph()) == []


def test_a_cycle_is_found_also_through_a_function_level_import_but_not_a_type_checking_one(
    tmp_path: Path,
) -> None:
    root = _tree(
        tmp_path,
        {
            "platform_api/a/service.py": "from platform_api.b.service import thing\n",
            "platform_api/b/service.py": "def thing():\n    from platform_api.a import service\n",
            "platform_api/c/service.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from platform_api.a.service import x\n",
            "platform_api/a/other.py": "from platform_api.c.service import y\n",
        },
    )
    (found,) = cycles(import_graph(root, ("platform_api",)))
    assert [edge.split(" (")[0] for edge in found] == [
        "platform_api.a -> platform_api.b",
        "platform_api.b -> platform_api.a",
    ]


def test_the_models_package_imports_no_web_framework(tmp_path: Path) -> None:
    assert web_imports() == []
    root = _tree(tmp_path, {"shared_models/runtime/http.py": "from starlette.requests import Request\n"})
    assert web_imports(root) == ["shared_models/runtime/http.py:1: imports starlette.requests"]


def test_every_document_has_one_owning_domain() -> None:
    assert set(OWNERS) == {model.__name__ for model in DOCUMENT_MODELS}


def test_no_document_is_written_outside_its_owning_domain() -> None:
    assert foreign_writes() == []


@pytest.mark.parametrize(
    ("rel", "source"),
    [
        (  # today's account deletion, before each domain erased its own part
            "platform_api/account/service.py",
            "from shared_models.documents import ServiceRequest\n"
            "async def erase(uid):\n    await ServiceRequest.get_pymongo_collection().update_many("
            "{'customer_id': uid}, {'$set': {'address': ''}})\n",
        ),
        (
            "platform_api/auth/service.py",
            "from shared_models.documents import ConsentRecord\n"
            "async def remove(uid):\n    await ConsentRecord.find({'user_id': uid}).delete()\n",
        ),
        (
            "platform_api/admin/accounts.py",
            "from shared_models import store\nfrom shared_models.documents import User\n"
            "async def suspend(uid):\n    await store.update_one(User, {'_id': uid}, {'$set': {'status': 's'}})\n",
        ),
        (
            "chat_server/events/sneaky.py",
            "from shared_models.documents import Notification\n"
            "async def push(**fields):\n    await Notification(**fields).insert()\n",
        ),
    ],
)
def test_a_write_from_another_domain_is_found(tmp_path: Path, rel: str, source: str) -> None:
    root = _tree(tmp_path, {rel: source})
    found = foreign_writes(root, (rel.split("/")[0],))
    assert found and all(line.startswith(f"{rel}:") for line in found)


def test_the_owner_writing_is_no_violation(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "platform_api/consent/service.py": "from shared_models.documents import ConsentRecord\n"
            "async def remove(uid):\n    await ConsentRecord.find({'user_id': uid}).delete()\n",
            "shared_models/services/sessions.py": "from shared_models.documents import RevokedSession\n"
            "async def revoke(**f):\n    await RevokedSession(**f).insert()\n",
        },
    )
    assert foreign_writes(root, ("platform_api", "shared_models")) == []
