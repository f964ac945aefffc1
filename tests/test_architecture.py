"""The layout's rules (`tests/architecture.py`): no import cycle between packages, no web framework and
neither service in the models package, one owning domain per document and no write of it from another.
Each rule also fails on a small tree that breaks it, so a rule that silently matched nothing would show;
the disguised forms a review found each have a case of their own."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shared_models.runtime.registry import DOCUMENT_MODELS
from tests.architecture import (
    OWNERS,
    ROOT,
    SERVICES,
    WEB_FRAMEWORKS,
    cycles,
    foreign_writes,
    import_graph,
    service_imports,
    web_imports,
)


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
        (  # a clearing function bound for another domain's document (the outbox registering it)
            "platform_api/outbox/service.py",
            "import functools\nfrom shared_models import store\nfrom shared_models.documents import ServiceRequest\n"
            "CLEAR = functools.partial(store.clear_pending_events, ServiceRequest)\n",
        ),
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


# --- the bypasses a review found: each was missed by the first version of the check ----------------------

_ADMIN = "platform_api/admin/accounts.py"  # the admin domain: User belongs to auth
_HEAD = "from shared_models import store\nfrom shared_models.documents import AccountToken, User\n"


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(  # an import alias
            "from shared_models.documents import User as U\n"
            "async def drop(uid):\n    await U.find_one({'_id': uid}).delete()\n",
            id="import-alias",
        ),
        pytest.param(
            "from shared_models.documents import User as U\nasync def add(**f):\n    await U(**f).insert()\n",
            id="import-alias-construction",
        ),
        pytest.param(
            "import shared_models.documents.users as users_module\n"
            "async def drop(uid):\n    await users_module.User.find({'_id': uid}).delete()\n",
            id="module-alias",
        ),
        pytest.param(  # a module-level class alias
            _HEAD + "Cls = User\nasync def drop(uid):\n    await Cls.find({'_id': uid}).delete()\n",
            id="class-alias",
        ),
        pytest.param(  # the store called with keyword arguments
            _HEAD + "async def suspend(uid):\n"
            "    await store.update_one(model=User, query={'_id': uid}, update={'$set': {'status': 's'}})\n",
            id="store-keywords",
        ),
        pytest.param(  # a store function imported under another name
            "from shared_models.documents import User\nfrom shared_models.store import update_one as upd\n"
            "async def suspend(uid):\n    await upd(User, {'_id': uid}, {'$set': {'status': 's'}})\n",
            id="store-function-alias",
        ),
        pytest.param(
            _HEAD + "upd = store.update_many\n"
            "async def suspend(uid):\n    await upd(User, {'_id': uid}, {'$set': {'status': 's'}})\n",
            id="store-function-assigned",
        ),
        pytest.param(  # a read, copied, then replaced under a compare-and-set
            _HEAD + "async def suspend(uid):\n    current = await User.find_one({'_id': uid})\n"
            "    after = current.model_copy(update={'status': 's'})\n"
            "    await store.replace_if({'_id': uid, 'status': 'active'}, after)\n",
            id="find_one-copy-replace_if",
        ),
        pytest.param(
            _HEAD + "async def suspend(uid):\n    current = await User.get(uid)\n"
            "    await store.replace_one_if({'_id': uid}, current.model_copy(update={'status': 's'}))\n",
            id="get-copy-replace_one_if",
        ),
        pytest.param(
            _HEAD + "async def restore(raw):\n    current = User.model_validate(raw)\n"
            "    after = current.model_copy(update={'status': 'active'})\n"
            "    await store.replace_if({'_id': current.id}, after)\n",
            id="model_validate-copy-replace_if",
        ),
        pytest.param(  # a write on a variable typed by its parameter's annotation
            _HEAD + "async def rename(user: User):\n    user.name = 'x'\n    await user.save()\n",
            id="annotated-save",
        ),
        pytest.param(
            _HEAD
            + "async def drop(doc: 'User | None'):\n    if doc is not None:\n        await doc.delete()\n",
            id="string-optional-annotation-delete",
        ),
        pytest.param(
            _HEAD + "async def drop(doc: User | AccountToken):\n    await doc.delete()\n",
            id="union-annotation-delete",
        ),
        pytest.param(
            _HEAD + "Account = User | AccountToken\nasync def put(doc: Account):\n    await doc.replace()\n",
            id="type-alias-annotation-replace",
        ),
        pytest.param(
            _HEAD + "from typing import Optional\n"
            "async def put(doc: Optional[User]):\n    await doc.insert()\n",
            id="optional-annotation-insert",
        ),
        pytest.param(
            _HEAD + "async def many(users: list[User]):\n    for user in users:\n        await user.save()\n",
            id="loop-over-annotated-list",
        ),
        pytest.param(  # the model given as type(var)
            _HEAD + "async def suspend(doc: User):\n"
            "    await store.update_one(type(doc), {'_id': doc.id}, {'$set': {'status': 's'}})\n",
            id="type-of-annotated",
        ),
        pytest.param(
            _HEAD + "Aggregate = User | AccountToken\nasync def clear(aggregate: Aggregate):\n"
            "    model = type(aggregate)\n    await store.delete_one(model, {'_id': aggregate.id})\n",
            id="type-of-alias-in-variable",
        ),
        pytest.param(
            _HEAD
            + "async def touch(uid):\n    doc = await User.find_one({'_id': uid})\n    await doc.save()\n",
            id="read-then-save",
        ),
        pytest.param(  # a query kept in a variable, then written
            _HEAD + "async def drop(uid):\n    q = User.find({'_id': uid})\n    await q.delete()\n",
            id="query-variable-delete",
        ),
        pytest.param(
            _HEAD
            + "async def seen(uid):\n    await User.find_one({'_id': uid}).current_date({'seen_at': True})\n",
            id="current_date",
        ),
        pytest.param(
            "from shared_models import documents\n"
            "async def drop(uid):\n    await getattr(documents, 'User').find({'_id': uid}).delete()\n",
            id="getattr-documents",
        ),
        pytest.param(
            "from shared_models import documents\n"
            "async def add(**f):\n    model = getattr(documents, 'User')\n    await model(**f).insert()\n",
            id="getattr-documents-variable",
        ),
        pytest.param(
            _HEAD + "async def load(uid) -> User:\n    return await User.get(uid)\n"
            "async def touch(uid):\n    doc = await load(uid)\n    await doc.save()\n",
            id="local-function-return-annotation",
        ),
    ],
)
def test_a_disguised_write_from_another_domain_is_found(tmp_path: Path, source: str) -> None:
    root = _tree(tmp_path, {_ADMIN: source})
    found = foreign_writes(root, ("platform_api",))
    assert found and all(f"{_ADMIN}:" in line and "(owned by auth) from admin" in line for line in found), (
        found
    )


def test_the_inference_sees_types_only_where_the_code_says_them(tmp_path: Path) -> None:
    """Reads, unrelated objects that happen to have a `save`, and a name typed as a document in another
    function are no write of a document."""
    source = (
        _HEAD + "async def look(user: User):\n    copy = user.model_copy()\n    return copy.email\n"
        "async def other(user):\n    await user.save()\n"
        "async def form(doc: dict[str, str]):\n    doc.update({'a': 'b'})\n    await doc.save()\n"
        "async def read(uid):\n    return await User.find({'_id': uid}).to_list()\n"
    )
    root = _tree(tmp_path, {_ADMIN: source})
    assert foreign_writes(root, ("platform_api",)) == []


def test_the_owner_writing_through_a_typed_variable_is_no_violation(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "platform_api/auth/service.py": _HEAD + "async def rename(user: User):\n    await user.save()\n"
            "async def suspend(uid):\n    current = await User.get(uid)\n"
            "    await store.replace_if({'_id': uid}, current.model_copy(update={'status': 's'}))\n",
        },
    )
    assert foreign_writes(root, ("platform_api",)) == []


@pytest.mark.parametrize(
    ("files", "edges"),
    [
        pytest.param(  # relative imports, up one package and at the top level
            {
                "platform_api/a/service.py": "from ..b.service import thing\n",
                "platform_api/b/service.py": "def thing():\n    from ..a import service\n",
            },
            ["platform_api.a -> platform_api.b", "platform_api.b -> platform_api.a"],
            id="relative",
        ),
        pytest.param(
            {
                "platform_api/deps.py": "from . import bookings\n",
                "platform_api/bookings/service.py": "from platform_api.deps import current_user\n",
            },
            ["platform_api.bookings -> platform_api.deps", "platform_api.deps -> platform_api.bookings"],
            id="relative-from-dot",
        ),
        pytest.param(  # an import by a constant string
            {
                "platform_api/a/service.py": "import importlib\n"
                "def load():\n    return importlib.import_module('platform_api.b.service')\n",
                "platform_api/b/service.py": "def load():\n    return __import__('platform_api.a.service')\n",
            },
            ["platform_api.a -> platform_api.b", "platform_api.b -> platform_api.a"],
            id="importlib",
        ),
        pytest.param(
            {
                "platform_api/a/service.py": "from importlib import import_module\n"
                "def load():\n    return import_module('.b.service', package='platform_api')\n",
                "platform_api/b/service.py": "import platform_api.a.service\n",
            },
            ["platform_api.a -> platform_api.b", "platform_api.b -> platform_api.a"],
            id="import_module-relative",
        ),
        pytest.param(  # the top-level package's __init__ is a unit of its own
            {
                "platform_api/__init__.py": "from platform_api.a.service import thing\n",
                "platform_api/a/service.py": "from platform_api import VERSION\nthing = VERSION\n",
            },
            ["platform_api -> platform_api.a", "platform_api.a -> platform_api"],
            id="package-init",
        ),
        pytest.param(  # only `if TYPE_CHECKING:` is skipped, not a condition that merely mentions it
            {
                "platform_api/a/service.py": "from typing import TYPE_CHECKING\nif not TYPE_CHECKING:\n"
                "    from platform_api.b.service import x\n",
                "platform_api/b/service.py": "from typing import TYPE_CHECKING\nFLAG = True\n"
                "if TYPE_CHECKING or FLAG:\n    from platform_api.a.service import y\n",
            },
            ["platform_api.a -> platform_api.b", "platform_api.b -> platform_api.a"],
            id="not-type-checking",
        ),
        pytest.param(
            {
                "platform_api/a/service.py": "import typing\nif typing.TYPE_CHECKING:\n    pass\n"
                "else:\n    from platform_api.b.service import x\n",
                "platform_api/b/service.py": "from platform_api.a.service import y\n",
            },
            ["platform_api.a -> platform_api.b", "platform_api.b -> platform_api.a"],
            id="type-checking-else-branch-runs",
        ),
    ],
)
def test_a_disguised_cycle_is_found(tmp_path: Path, files: dict[str, str], edges: list[str]) -> None:
    root = _tree(tmp_path, files)
    (found,) = cycles(import_graph(root, ("platform_api",)))
    assert [edge.split(" (")[0] for edge in found] == edges


def test_typing_type_checking_imports_are_no_edge(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "platform_api/a/service.py": "import typing\nif typing.TYPE_CHECKING:\n"
            "    from platform_api.b.service import x\n",
            "platform_api/b/service.py": "from platform_api.a.service import y\n",
        },
    )
    assert cycles(import_graph(root, ("platform_api",))) == []


def test_the_models_package_imports_neither_service(tmp_path: Path) -> None:
    assert service_imports() == []
    root = _tree(
        tmp_path,
        {
            "shared_models/services/a.py": "from platform_api.config import Settings\n",
            "shared_models/runtime/b.py": "import importlib\n"
            "def app():\n    return importlib.import_module('chat_server.app')\n",
            "shared_models/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import chat_server\n",
            "shared_models/fine.py": "from shared_models.documents import User\n",
        },
    )
    assert service_imports(root) == [
        "shared_models/c.py:3: imports chat_server",
        "shared_models/runtime/b.py:3: imports chat_server.app",
        "shared_models/services/a.py:1: imports platform_api.config",
    ]


def test_importing_every_module_of_the_models_package_loads_no_web_framework_nor_service() -> None:
    """Run, not read: a transitive or dynamic import the source check cannot follow shows in sys.modules."""
    script = (
        "import importlib, json, pkgutil, sys\n"
        "import shared_models\n"
        "names = [m.name for m in pkgutil.walk_packages(shared_models.__path__, 'shared_models.')]\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps({'imported': names, 'loaded': sorted(sys.modules)}))\n"
    )
    python = ROOT / ".venv" / "bin" / "python"
    done = subprocess.run(
        [str(python if python.exists() else sys.executable), "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert (
        "shared_models.store" in report["imported"]
        and "shared_models.services.sessions" in report["imported"]
    )
    forbidden = WEB_FRAMEWORKS | SERVICES
    assert [m for m in report["loaded"] if m.split(".")[0] in forbidden] == []
