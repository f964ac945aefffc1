"""`shared_models.store` is the one gateway to the raw collection API, and it keeps the engine's rules.

1. On the source: no module outside the store reaches a raw collection (`get_pymongo_collection()`,
   `get_database`/`get_collection`, Beanie's `pymongo_collection`/`pymongo_db` settings, any of those named
   by a string, a value typed as a pymongo collection or database, and every method called on one), the
   store's private names, or a client of its own (made, or subscripted, or asked for a database) outside the
   registry; and nothing writes through Beanie's field updates (`.set/.inc/.unset/.current_date/.upsert`,
   `.update`/`.update_many` on a query or document), which skip the store's engine checks. Stream plumbing,
   the registry and migrations are named below with what they may do. `bench/` is scanned too.
   What it cannot see: a raw value handed over from another module (an attribute, a return value), a
   `set`/`inc` whose receiver and argument are both untyped names (`thing.set(fields)`), and a raw accessor
   name assembled at runtime.
2. Against the real engine: each rule the store enforces, and the job lease's datetime.
"""

import ast
import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import pytest
from beanie import Document, Indexed, init_beanie
from bson import ObjectId
from pymongo import AsyncMongoClient
from pymongo.errors import BulkWriteError

from shared_models import store
from shared_models.clock import to_millis
from shared_models.documents import JobLease
from shared_models.runtime.registry import connect
from shared_models.store import UnsafeForEngine
from tests.architecture import OWNERS
from tests.conftest import Engine
from tests.document_types import CARRIED, DocumentTypes, Scope, constant_string, python_files, target_names

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("platform_api", "chat_server", "shared_models", "scripts", "bench")
STORE = "shared_models/store.py"
REGISTRY = "shared_models/runtime/registry.py"


# For good: modules whose job is the raw API itself, each with the only raw uses it may make.
PLUMBING: dict[str, tuple[frozenset[str] | None, str]] = {
    "shared_models/runtime/change_streams.py": (
        frozenset({"get_pymongo_collection", ".watch()", "import pymongo.asynchronous.collection"}),
        "stream plumbing: opens each collection's change stream and handles the engine's cursor faults; "
        "reads and writes no document",
    ),
    REGISTRY: (
        frozenset({"AsyncMongoClient()", "client[]", "client.admin", ".command()"}),
        "the one place a client is made (`connect`), bound to its database for Beanie (`init_models`) and "
        "pinged (`readiness`); reads and writes no document",
    ),
    "scripts/migrate.py": (
        None,
        "a migration rewrites shapes the documents no longer describe, before `init_models` binds them "
        "(a unique index would refuse to build on unmigrated data): raw by design",
    ),
}

# Calls that answer a raw collection or database, and Beanie settings that hold one.
RAW_GETTERS = frozenset(
    {
        "get_pymongo_collection",
        "get_motor_collection",
        "get_database",
        "get_collection",
        "get_default_database",
    }
)
RAW_SETTINGS = frozenset({"pymongo_collection", "pymongo_db", "motor_collection", "motor_db"})
CLIENT_CLASSES = frozenset({"AsyncMongoClient", "MongoClient", "AsyncIOMotorClient", "MotorClient"})
# Strings that name a raw accessor (`getattr(model, "get_pymongo_collection")`).
RAW_NAMES = RAW_GETTERS | RAW_SETTINGS | CLIENT_CLASSES
# What a client may be asked outside the registry; any other attribute is a database (pymongo answers
# `client.anything` with the database of that name) or a way around the store.
CLIENT_SAFE = frozenset({"close", "aclose", "drop_database", "address", "options", "topology_description"})
STORE_PUBLIC_DUNDERS = frozenset({"__name__", "__doc__", "__all__", "__file__"})
# Beanie's field updates write without the store's engine checks (`UnsafeForEngine`): `$set` of a
# datetime, `$push` of a subdocument. `set`/`inc` are also the names of metrics, events and Redis calls, so
# those two count with a mapping argument or on a known Beanie receiver; `update`/`update_many` only on a
# known Beanie receiver (never `dict.update`).
FIELD_UPDATES = frozenset({"unset", "current_date", "upsert"})
MAPPING_UPDATES = frozenset({"set", "inc"})
QUERY_UPDATES = frozenset({"update", "update_many", "update_all"})
QUERIES = frozenset({"find", "find_one", "find_many", "find_all"})
RAW_TYPES = ("AsyncCollection", "AsyncDatabase")
RAW_MODULES = ("pymongo.asynchronous.collection", "pymongo.asynchronous.database", "pymongo.collection",
               "pymongo.database", "motor")  # fmt: skip
ABSORBED = ("shared_models.cas", "shared_models.bulk", "shared_models.counts")


@dataclass(frozen=True)
class Site:
    path: str
    line: int
    what: str  # "get_pymongo_collection", ".update_one()", "import pymongo.asynchronous.collection"

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def _raw_annotation(node: ast.expr | None) -> bool:
    return node is not None and any(t in ast.unparse(node) for t in RAW_TYPES)


def _client_annotation(node: ast.expr | None) -> bool:
    return node is not None and any(t in ast.unparse(node) for t in CLIENT_CLASSES)


def _pairs(node: ast.AST) -> list[tuple[ast.expr, ast.expr]]:
    pairs: list[tuple[ast.expr, ast.expr]] = []
    if isinstance(node, ast.Assign):
        for target in node.targets:
            if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                pairs += list(zip(target.elts, node.value.elts, strict=False))
            else:
                pairs.append((target, node.value))
    elif isinstance(node, ast.AnnAssign | ast.NamedExpr) and node.value is not None:
        pairs.append((node.target, node.value))
    return pairs


class _Module:
    """The raw sites of one module: names bound to a raw collection or database (by a getter, a raw type
    annotation, or indexing a raw database), names bound to a client (made here, by `connect`, or typed as
    one), and every method called on a raw value; the store's private names; raw accessors named by string
    or as Beanie settings; and Beanie field updates. Names of clients and Beanie queries are scoped per
    function (`tests/document_types.py`); raw names module-wide."""

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self.types = DocumentTypes(tree, frozenset(OWNERS))
        self.client_classes = set(CLIENT_CLASSES)
        self.connects: set[str] = set()  # names of `shared_models.runtime.registry.connect`
        self.nodes = self.types.nodes
        for node in self.nodes:
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    if alias.name in CLIENT_CLASSES:
                        self.client_classes.add(alias.asname or alias.name)
                    if node.module == "shared_models.runtime.registry" and alias.name == "connect":
                        self.connects.add(alias.asname or alias.name)
        self.raw_names: set[str] = set()
        self.clients: set[tuple[int, str]] = set()  # (scope, name)
        self.queries: set[tuple[int, str]] = set()
        self.assignments = [(pair, self.types.scope(node)) for node in self.nodes for pair in _pairs(node)]
        for node in self.nodes:
            if isinstance(node, ast.arg) and _raw_annotation(node.annotation):
                self.raw_names.add(node.arg)
            elif isinstance(node, ast.AnnAssign) and _raw_annotation(node.annotation):
                self.raw_names.update(target_names(node.target))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
                scope = self.types.scope(node.body[0])
                arguments = node.args
                for arg in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs):
                    if _client_annotation(arg.annotation):
                        self.clients.add((id(scope), arg.arg))
            elif isinstance(node, ast.AnnAssign) and _client_annotation(node.annotation):
                scope = self.types.scope(node)
                self.clients |= {self._key(name, scope) for name in target_names(node.target)}
        while self._bind_assignments():
            pass

    def _key(self, name: str, scope: Scope) -> tuple[int, str]:
        return (id(scope.owner(name) or self.types.module), name)

    # --- what a value is ----------------------------------------------------------------------------------

    def client(self, node: ast.expr, scope: Scope) -> bool:
        if isinstance(node, ast.Name):
            return self._key(node.id, scope) in self.clients
        if isinstance(node, ast.Await):
            return self.client(node.value, scope)
        return isinstance(node, ast.Call) and (
            self.client_class(node.func) is not None
            or (isinstance(node.func, ast.Name) and node.func.id in self.connects)
            or (isinstance(node.func, ast.Attribute) and ast.unparse(node.func).endswith("registry.connect"))
        )

    def client_class(self, func: ast.expr) -> str | None:
        if isinstance(func, ast.Name) and func.id in self.client_classes:
            return func.id if func.id in CLIENT_CLASSES else "AsyncMongoClient"
        if isinstance(func, ast.Attribute) and func.attr in CLIENT_CLASSES:
            return func.attr
        return None

    def raw(self, node: ast.expr, scope: Scope | None = None) -> bool:
        scope = scope or self.types.scope(node)
        if isinstance(node, ast.Await):
            return self.raw(node.value, scope)
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute):
                return func.attr in RAW_GETTERS or self._private_store(func, scope) is not None
            if isinstance(func, ast.Call):  # getattr(model, "get_pymongo_collection")()
                return self._getattr_name(func) in RAW_NAMES
            return False
        if isinstance(node, ast.Name):
            return node.id in self.raw_names
        if isinstance(node, ast.Attribute):  # settings.pymongo_collection, client.bench
            return node.attr in RAW_SETTINGS or (
                self.client(node.value, scope) and node.attr not in CLIENT_SAFE
            )
        if isinstance(node, ast.Subscript):  # db["messages"], client["db"]
            return self.raw(node.value, scope) or self.client(node.value, scope)
        if isinstance(node, ast.Tuple):
            return any(self.raw(e, scope) for e in node.elts)
        return False

    def beanie(self, node: ast.expr, scope: Scope) -> bool:
        """A Beanie document, class or query: typed by `DocumentTypes`, a `find…` call or a chain on one, an
        awaited `get(…)`, or a name bound to one of those."""
        if self.types.values_of(node, scope) or self.types.classes_of(node, scope):
            return True
        if isinstance(node, ast.Await):
            inner = node.value
            if (
                isinstance(inner, ast.Call)
                and isinstance(inner.func, ast.Attribute)
                and inner.func.attr == "get"
            ):
                return True
            return self.beanie(inner, scope)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in QUERIES:
                return True
            return node.func.attr in CARRIED and self.beanie(node.func.value, scope)
        if isinstance(node, ast.Name):
            return self._key(node.id, scope) in self.queries
        return False

    def _getattr_name(self, node: ast.Call) -> str | None:
        if isinstance(node.func, ast.Name) and node.func.id == "getattr" and len(node.args) >= 2:
            return constant_string(node.args[1])
        return None

    def _private_store(self, node: ast.Attribute, scope: Scope) -> str | None:
        private = node.attr.startswith("_") and node.attr not in STORE_PUBLIC_DUNDERS
        return node.attr if private and self.types.is_store_module(node.value, scope) else None

    def _bind_assignments(self) -> bool:
        grew = False
        for (target, value), scope in self.assignments:
            names = set(target_names(target))
            if names - self.raw_names and self.raw(value, scope):
                self.raw_names |= names
                grew = True
            keys = {self._key(name, scope) for name in names}
            for table, holds in ((self.clients, self.client), (self.queries, self.beanie)):
                if keys - table and holds(value, scope):
                    table |= keys
                    grew = True
        return grew

    # --- the sites ----------------------------------------------------------------------------------------

    def sites(self, rel: str) -> list[Site]:
        found = []
        folded: set[int] = set()  # parts of a string already read as a whole ("get_" + "pymongo_collection")
        for node in self.nodes:
            scope = self.types.scope(node)
            if isinstance(node, ast.Call):
                found += self._call_sites(rel, node, scope)
            if isinstance(node, ast.Attribute):
                if node.attr in RAW_GETTERS | RAW_SETTINGS:
                    found.append(Site(rel, node.lineno, node.attr))
                elif (private := self._private_store(node, scope)) is not None:
                    found.append(Site(rel, node.lineno, f"store.{private}"))
                elif self.client(node.value, scope) and node.attr not in CLIENT_SAFE:
                    found.append(Site(rel, node.lineno, f"client.{node.attr}"))
            elif isinstance(node, ast.Subscript) and self.client(node.value, scope):
                found.append(Site(rel, node.lineno, "client[]"))
            elif isinstance(node, ast.ImportFrom | ast.Import):
                found += self._import_sites(rel, node)
            if isinstance(node, ast.expr) and id(node) not in folded:
                text = constant_string(node)
                if text is not None:
                    folded.update(id(inner) for inner in ast.walk(node))
                    if text in RAW_NAMES:
                        found.append(Site(rel, node.lineno, f"{text!r} by name"))
        return sorted(found, key=lambda s: (s.line, s.what))

    def _call_sites(self, rel: str, node: ast.Call, scope: Scope) -> list[Site]:
        func = node.func
        if (made := self.client_class(func)) is not None:
            return [Site(rel, node.lineno, f"{made}()")]
        if isinstance(func, ast.Call) and (name := self._getattr_name(func)) is not None:
            if name.startswith("_") and self.types.is_store_module(func.args[0], scope):
                return [Site(rel, node.lineno, f"store.{name}")]
            return []
        if not isinstance(func, ast.Attribute):
            return []
        if self.raw(func.value, scope):
            return [Site(rel, node.lineno, f".{func.attr}()")]
        if func.attr in FIELD_UPDATES:
            return [Site(rel, node.lineno, f".{func.attr}() (a Beanie field update)")]
        mapping = bool(node.args) and (
            isinstance(node.args[0], ast.Dict | ast.DictComp)
            or (isinstance(node.args[0], ast.Call) and ast.unparse(node.args[0].func) == "dict")
        )
        if func.attr in MAPPING_UPDATES and (
            mapping or any(k.arg == "expression" for k in node.keywords) or self.beanie(func.value, scope)
        ):
            return [Site(rel, node.lineno, f".{func.attr}() (a Beanie field update)")]
        if func.attr in QUERY_UPDATES and self.beanie(func.value, scope):
            return [Site(rel, node.lineno, f".{func.attr}() (a Beanie field update)")]
        return []

    def _import_sites(self, rel: str, node: ast.ImportFrom | ast.Import) -> list[Site]:
        found = []
        modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
        for module in modules:
            if module.startswith(RAW_MODULES) or module in ABSORBED:
                found.append(Site(rel, node.lineno, f"import {module}"))
        if isinstance(node, ast.ImportFrom) and node.module == "shared_models.store":
            for alias in node.names:
                if alias.name.startswith("_"):
                    found.append(Site(rel, node.lineno, f"store.{alias.name}"))
        return found


def raw_sites(root: Path, packages: tuple[str, ...] = PACKAGES) -> list[Site]:
    """Every raw use outside the store, allowed or not."""
    found = []
    for rel, tree in python_files(root, packages):
        if rel != STORE:
            found += _Module(tree).sites(rel)
    return found


def violations(root: Path, packages: tuple[str, ...] = PACKAGES) -> list[str]:
    found = []
    for site in raw_sites(root, packages):
        if site.path in PLUMBING:
            allowed, _ = PLUMBING[site.path]
            if allowed is None or site.what in allowed:
                continue
        found.append(f"{site}: {_advice(site.what)}")
    return found


def _advice(what: str) -> str:
    if what.endswith("Client()") or what.startswith("client"):
        return (
            "take the client `shared_models.runtime.registry.connect` makes; read and write through the store"
        )
    if what.endswith("(a Beanie field update)"):
        return "call the store (shared_models/store.py) instead: `store.update_one` checks the engine's rules"
    return "call the store (shared_models/store.py) instead"


def unneeded_allowances(root: Path) -> list[str]:
    """Entries of PLUMBING whose modules no longer make a raw call: remove them."""
    sites = raw_sites(root)
    return [path for path in PLUMBING if not any(s.path == path for s in sites)]


def test_no_raw_collection_call_outside_the_store() -> None:
    assert violations(ROOT) == []


def test_every_allowance_is_still_needed() -> None:
    assert unneeded_allowances(ROOT) == []


SNEAKY = [
    "from shared_models.documents import User\n"
    "async def f():\n    await User.get_pymongo_collection().update_one({}, {'$set': {'a': 1}})\n",
    "from shared_models.documents import User\n"
    "async def f():\n    users = User.get_pymongo_collection()\n    return await users.find_one({})\n",
    "from pymongo.asynchronous.collection import AsyncCollection\n"
    "async def f(c: AsyncCollection[dict]):\n    await c.insert_many([{}])\n",
    "from pymongo.asynchronous.database import AsyncDatabase\n"
    "async def f(db: AsyncDatabase[dict]):\n    rows = db['users']\n    await rows.delete_many({})\n",
    "from shared_models.cas import replace_if\n",
]
# What a review found the first version missed: the store's private names, a raw accessor by string or as a
# Beanie setting, a database or collection by name, a client of one's own, and Beanie's field updates, which
# skip the store's engine checks.
DISGUISED = [
    "from shared_models import store\nfrom shared_models.documents import User\n"
    "async def f():\n    return await store._collection(User).find_one({})\n",
    "from shared_models.store import _collection\n",
    "import shared_models.store as s\nasync def f(m):\n    return await s._collection(m).find_one({})\n",
    "async def f(m):\n    return await getattr(m, 'get_pymongo_collection')().find_one({})\n",
    "async def f(m):\n    return await getattr(m, 'get_' + 'pymongo_collection')().find_one({})\n",
    "from shared_models.documents import User\n"
    "async def f():\n    await User.get_settings().pymongo_collection.delete_many({})\n",
    "async def f(settings):\n    await settings.pymongo_db['users'].delete_many({})\n",
    "async def f(settings):\n    await settings.motor_collection.delete_many({})\n",
    "async def f(db):\n    await db.get_collection('users').delete_many({})\n",
    "async def f(client):\n    await client.get_database('x')['users'].drop()\n",
    "from pymongo import AsyncMongoClient\nasync def f(uri):\n    return AsyncMongoClient(uri)\n",
    "import pymongo\nasync def f(uri):\n    return pymongo.MongoClient(uri)\n",
    "from pymongo import AsyncMongoClient as Client\nasync def f(uri):\n    return Client(uri)\n",
    "from shared_models.runtime.registry import connect\n"
    "async def f(uri):\n    client = connect(uri, 1000)\n    await client['db']['users'].delete_many({})\n",
    "from pymongo import AsyncMongoClient\n"
    "async def f(client: AsyncMongoClient[dict]):\n    await client.bench.users.delete_many({})\n",
    "async def f(user):\n    await user.set({'email': 'x'})\n",
    "from shared_models.documents import User\nasync def f(user):\n    await user.set({User.email: 'x'})\n",
    "from shared_models.documents import User\nasync def f():\n    await User.find_one({}).inc({User.hits: 1})\n",
    "async def f(doc):\n    await doc.unset({'a': 1})\n",
    "async def f(doc):\n    await doc.current_date({'seen': True})\n",
    "from beanie.operators import Set\nfrom shared_models.documents import User\n"
    "async def f():\n    await User.find_one({}).upsert(Set({'a': 1}), on_insert=User())\n",
    "from shared_models.documents import User\n"
    "async def f():\n    await User.find({'a': 1}).update_many({'$set': {'b': 2}})\n",
    "from shared_models.documents import User\n"
    "async def f():\n    q = User.find({'a': 1})\n    await q.update({'$set': {'b': 2}})\n",
    "from shared_models.documents import User\n"
    "async def f(uid):\n    doc = await User.get(uid)\n    await doc.update({'$set': {'b': 2}})\n",
    "from shared_models.documents import User\n"
    "async def f(user: User):\n    await user.update({'$set': {'b': 2}})\n",
]


@pytest.mark.parametrize("source", SNEAKY + DISGUISED)
def test_the_check_catches_a_raw_call(tmp_path: Path, source: str) -> None:
    target = tmp_path / "chat_server" / "sneaky.py"
    target.parent.mkdir(parents=True)
    target.write_text(source)
    assert len(violations(tmp_path, ("chat_server",))) >= 1


def test_the_check_counts_every_method_called_on_a_raw_collection(tmp_path: Path) -> None:
    target = tmp_path / "platform_api" / "sneaky.py"
    target.parent.mkdir(parents=True)
    target.write_text(SNEAKY[1] + "async def g(m):\n    c = m.get_pymongo_collection()\n    await c.watch()\n"
                      "    await c.aggregate([])\n")  # fmt: skip
    assert [s.what for s in raw_sites(tmp_path, ("platform_api",))] == [
        "get_pymongo_collection", ".find_one()", "get_pymongo_collection", ".watch()", ".aggregate()",
    ]  # fmt: skip


def test_the_check_leaves_beanie_queries_alone(tmp_path: Path) -> None:
    target = tmp_path / "platform_api" / "fine.py"
    target.parent.mkdir(parents=True)
    target.write_text(
        "from shared_models.documents import Message, User\n"
        "async def f(docs):\n"
        "    await Message.insert_many(docs)\n"
        "    await Message.find_one({'x': 1})\n"
        "    return await Message.aggregate([]).to_list()\n"
    )
    assert raw_sites(tmp_path, ("platform_api",)) == []


def test_the_check_leaves_look_alikes_alone(tmp_path: Path) -> None:
    """`set`, `inc` and `update` of dicts, events, metrics and Redis are no field update of a document."""
    target = tmp_path / "platform_api" / "fine.py"
    target.parent.mkdir(parents=True)
    target.write_text(
        "import asyncio\nfrom shared_models import store\nfrom shared_models.documents import User\n"
        "async def f(redis, counter, gauge, rows, settings, event: asyncio.Event, client):\n"
        "    found = {}\n    found.update({'a': 1})\n    settings.get('x', {}).update(rows)\n"
        "    event.set()\n    counter.inc()\n    counter.labels('x').inc(2)\n    gauge.set(len(rows))\n"
        "    await redis.set('k', '1', nx=True, ex=5)\n"
        "    await store.update_one(User, {'_id': 1}, {'$set': {'a': 1}})\n"
        "    await client.close()\n    await client.drop_database('bench')\n"
    )
    assert raw_sites(tmp_path, ("platform_api",)) == []


def test_the_registry_may_make_and_open_a_client_and_nothing_else(tmp_path: Path) -> None:
    target = tmp_path / "shared_models" / "runtime" / "registry.py"
    target.parent.mkdir(parents=True)
    target.write_text(
        "from pymongo import AsyncMongoClient\n"
        "def connect(uri: str) -> AsyncMongoClient[dict]:\n    return AsyncMongoClient(uri)\n"
        "async def init_models(client: AsyncMongoClient[dict], db: str) -> None:\n"
        "    await init(database=client[db])\n    await client.admin.command('ping')\n"
    )
    assert violations(tmp_path, ("shared_models",)) == []
    target.write_text(target.read_text() + "    await client[db]['users'].delete_many({})\n"
                      "    await client[db].get_collection('users').drop()\n")  # fmt: skip
    assert [v.split(": call")[0] for v in violations(tmp_path, ("shared_models",))] == [
        "shared_models/runtime/registry.py:7: .delete_many()",
        "shared_models/runtime/registry.py:8: .drop()",
        "shared_models/runtime/registry.py:8: .get_collection()",
        "shared_models/runtime/registry.py:8: get_collection",
    ]


def test_a_plumbing_exception_covers_only_what_it_names(tmp_path: Path) -> None:
    target = tmp_path / "shared_models" / "runtime" / "change_streams.py"
    target.parent.mkdir(parents=True)
    target.write_text(
        "async def follow(model):\n    c = model.get_pymongo_collection()\n    await c.watch()\n"
    )
    assert violations(tmp_path, ("shared_models",)) == []
    target.write_text(target.read_text() + "    await c.update_one({}, {'$set': {'a': 1}})\n")
    [violation] = violations(tmp_path, ("shared_models",))
    assert violation.startswith("shared_models/runtime/change_streams.py:4: .update_one(): call the store")


def test_an_allowance_no_longer_needed_is_reported(tmp_path: Path) -> None:
    rel = "shared_models/runtime/change_streams.py"
    (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / rel).write_text("async def follow(model): ...\n")
    assert rel in unneeded_allowances(tmp_path)
    (tmp_path / rel).write_text(
        "from shared_models.documents import User\nasync def follow():\n"
        "    return User.get_pymongo_collection().watch()\n"
    )
    assert rel not in unneeded_allowances(tmp_path)


# --- the store against the engine -------------------------------------------------------------------------


class Probe(Document):
    """A document for these tests only: a unique key, a version, a tally, a time."""

    key: Annotated[str, Indexed(unique=True)]
    version: int = 0
    hits: int = 0
    at: datetime | None = None
    tags: list[str] = []
    items: list[dict[str, Any]] = []

    class Settings:
        name = "store_probes"


NOW = datetime(2026, 3, 4, 5, 6, 7, 123000, tzinfo=UTC)


@pytest.fixture
async def bound(engine: Engine, db_name: str) -> AsyncIterator[AsyncMongoClient[dict[str, object]]]:
    client = connect(engine.uri, 5000)
    await init_beanie(database=client[db_name], document_models=[JobLease, Probe])
    yield client
    await client.close()


async def _raw(model: type[Document], key: dict[str, Any]) -> dict[str, Any]:
    """The document as stored, read without the store (so the store is not its own witness)."""
    found = await model.get_pymongo_collection().find_one(key)
    assert found is not None
    return dict(found)


async def test_the_engine_stores_a_set_datetime_as_a_string(bound: object) -> None:
    """Why the store refuses it: written around the store, it reads back as a naive string."""
    await Probe(key="a", at=NOW).insert()
    await Probe.get_pymongo_collection().update_one({"key": "a"}, {"$set": {"at": NOW + timedelta(days=1)}})
    assert isinstance((await _raw(Probe, {"key": "a"}))["at"], str)


@pytest.mark.parametrize(
    "update",
    [
        {"$set": {"at": NOW}},
        {"$set": {"hits": 1, "sub.at": NOW}},
        {"$min": {"at": NOW}},
        {"$max": {"at": NOW}},
        {"$push": {"items": {"a": 1}}},
        {"$push": {"items": {"$each": [{"a": 1}]}}},
        {"$push": {"tags": NOW}},
        {"$addToSet": {"items": {"a": 1}}},
    ],
)
async def test_updates_the_engine_would_store_wrongly_are_refused(
    bound: object, update: dict[str, Any]
) -> None:
    await Probe(key="a", at=NOW).insert()
    before = await _raw(Probe, {"key": "a"})
    with pytest.raises(UnsafeForEngine):
        await store.update_one(Probe, {"key": "a"}, update)
    with pytest.raises(UnsafeForEngine):
        await store.update_many(Probe, {"key": "a"}, update)
    with pytest.raises(UnsafeForEngine):
        await store.update_each(Probe, [({"key": "a"}, update)])
    with pytest.raises(UnsafeForEngine):
        await store.update_if(Probe, {"key": "a"}, update)
    assert await _raw(Probe, {"key": "a"}) == before


async def test_updates_the_engine_keeps_go_through_with_their_types(bound: object) -> None:
    """The rule's other side: a datetime inside a `$set` subdocument or list, a scalar `$push`, `$inc`."""
    await Probe(key="a").insert()
    done = await store.update_one(
        Probe,
        {"key": "a"},
        {"$set": {"items": [{"at": NOW}], "at": None}, "$push": {"tags": "x"}, "$inc": {"hits": 2}},
    )
    assert done == store.Updated(matched=1, modified=1)
    raw = await _raw(Probe, {"key": "a"})
    assert isinstance(raw["items"][0]["at"], datetime) and raw["items"][0]["at"] == NOW
    assert raw["tags"] == ["x"] and raw["hits"] == 2 and raw["at"] is None


async def test_the_lease_is_taken_renewed_refused_and_taken_over(bound: object) -> None:
    ttl = timedelta(seconds=30)
    assert await store.acquire_lease("job", "a", ttl, NOW)
    assert not await store.acquire_lease("job", "b", ttl, NOW + timedelta(seconds=10))
    assert await store.acquire_lease("job", "a", ttl, NOW + timedelta(seconds=20))  # renewed: until +50 s
    assert not await store.acquire_lease("job", "b", ttl, NOW + timedelta(seconds=49))
    assert await store.acquire_lease("job", "b", ttl, NOW + timedelta(seconds=50))  # expired: taken over
    assert not await store.acquire_lease("job", "a", ttl, NOW + timedelta(seconds=51))
    lease = await JobLease.find_one({"name": "job"})
    assert lease is not None and lease.holder == "b"
    assert await JobLease.find({"name": "job"}).count() == 1


async def test_a_renewed_lease_keeps_its_expiry_a_datetime(bound: object) -> None:
    ttl = timedelta(seconds=30, microseconds=456789)
    assert await store.acquire_lease("job", "a", ttl, NOW)
    assert await store.acquire_lease("job", "a", ttl, NOW + timedelta(seconds=5))
    expected = to_millis(NOW + timedelta(seconds=5) + ttl)
    lease = await JobLease.find_one({"name": "job"})
    assert lease is not None and lease.expires_at == expected
    raw = await _raw(JobLease, {"name": "job"})
    assert type(raw["expires_at"]) is datetime and raw["expires_at"] == expected
    assert raw["holder"] == "a" and isinstance(raw["_id"], ObjectId)


@pytest.mark.parametrize("held_before", [False, True])
async def test_of_ten_concurrent_takers_exactly_one_wins(bound: object, held_before: bool) -> None:
    ttl = timedelta(seconds=30)
    now = NOW
    if held_before:  # an expired lease of someone else: all ten race for the take-over
        assert await store.acquire_lease("job", "old", ttl, NOW)
        now = NOW + ttl
    holders = [f"h{i}" for i in range(10)]
    won = await asyncio.gather(*(store.acquire_lease("job", h, ttl, now) for h in holders))
    assert won.count(True) == 1
    lease = await JobLease.find_one({"name": "job"})
    assert lease is not None and lease.holder == holders[won.index(True)]


async def test_a_lease_the_old_code_stored_with_a_string_expiry_is_read_as_its_moment(bound: object) -> None:
    await JobLease.get_pymongo_collection().insert_one(
        {
            "name": "job",
            "holder": "old",
            "expires_at": "2026-03-04 05:06:37.123000",
        }  # as the old $set left it
    )
    assert not await store.acquire_lease("job", "new", timedelta(seconds=30), NOW)
    assert await store.acquire_lease("job", "new", timedelta(seconds=30), NOW + timedelta(seconds=30))
    assert type((await _raw(JobLease, {"name": "job"}))["expires_at"]) is datetime


async def test_compare_and_set_under_concurrency_counts_each_winner_once(bound: object) -> None:
    """Ten writers add one each by replace-under-version (retrying when beaten), ten more by update_if:
    every increment lands once, none is lost to a concurrent writer."""
    await Probe(key="a").insert()

    async def add_one_by_replace() -> int:
        attempts = 0
        while True:
            attempts += 1
            current = await Probe.find_one({"key": "a"})
            assert current is not None
            after = current.model_copy(update={"version": current.version + 1, "hits": current.hits + 1})
            if await store.replace_if({"_id": current.id, "version": current.version}, after) is not None:
                return attempts

    async def add_one_by_update() -> int:
        attempts = 0
        while True:
            attempts += 1
            current = await store.read_one(Probe, {"key": "a"}, {"version": 1})
            assert current is not None
            guard = {"key": "a", "version": current["version"]}
            if await store.update_if(Probe, guard, {"$inc": {"version": 1, "hits": 1}}) is not None:
                return attempts

    attempts = await asyncio.gather(
        *[add_one_by_replace() for _ in range(10)], *[add_one_by_update() for _ in range(10)]
    )
    stored = await Probe.find_one({"key": "a"})
    assert stored is not None and stored.hits == 20 and stored.version == 20
    assert sum(attempts) >= 20


async def test_a_lost_compare_and_set_changes_nothing(bound: object) -> None:
    probe = Probe(key="a", version=3)
    await probe.insert()
    stale = probe.model_copy(update={"version": 4, "hits": 9})
    assert await store.replace_if({"_id": probe.id, "version": 2}, stale) is None
    assert not await store.replace_one_if({"_id": probe.id, "version": 2}, stale)
    assert await store.update_if(Probe, {"key": "a", "version": 2}, {"$set": {"hits": 9}}) is None
    assert (await _raw(Probe, {"key": "a"}))["hits"] == 0
    assert await store.replace_one_if({"_id": probe.id, "version": 3}, stale.model_copy(update={"at": NOW}))
    assert type((await _raw(Probe, {"key": "a"}))["at"]) is datetime  # a replace keeps the type


async def test_a_bulk_insert_with_duplicates_answers_which_were_new(bound: object) -> None:
    await store.insert_new(Probe, [{"key": "a"}, {"key": "c"}])
    new = await store.insert_new(Probe, [{"key": k, "at": NOW} for k in ("a", "b", "c", "d", "b")])
    assert new == [1, 3]
    assert sorted(d["key"] for d in await store.read_many(Probe, {})) == ["a", "b", "c", "d"]
    assert await store.insert_new(Probe, []) == []
    with pytest.raises(BulkWriteError):
        await store.insert_all(Probe, [{"key": "e"}, {"key": "a"}])


async def test_reads_answer_stored_shapes_in_order(bound: object) -> None:
    await store.insert_new(Probe, [{"key": k, "hits": n} for n, k in enumerate("dbca")])
    rows = await store.read_many(Probe, {"hits": {"$gte": 1}}, {"key": 1}, sort=[("key", -1)], limit=2)
    assert [(sorted(r), r["key"]) for r in rows] == [(["_id", "key"], "c"), (["_id", "key"], "b")]
    assert await store.read_one(Probe, {"key": "z"}) is None
    assert await store.delete_one(Probe, {"key": "d"}) and not await store.delete_one(Probe, {"key": "d"})


async def test_counts_and_aggregations_refuse_filters_the_engine_answers_wrongly(bound: object) -> None:
    await store.insert_new(Probe, [{"key": "a", "at": NOW, "hits": 1}, {"key": "b", "hits": 2}])
    # The engine fault itself: an aggregation ranging on a stored datetime answers otherwise than `find`.
    since = {"at": {"$lt": NOW + timedelta(days=1)}}
    rows = await (await Probe.get_pymongo_collection().aggregate([{"$match": since}])).to_list()
    assert rows == [] and len(await Probe.find(since).to_list()) == 1
    nulls = ({"at": None}, {"$and": [{"at": {"$eq": None}}]}, {"at": {"$ne": None}})
    for refused in (since, *nulls, {"_id": ObjectId()}):
        with pytest.raises(UnsafeForEngine):
            await store.count(Probe, refused)
    with pytest.raises(UnsafeForEngine):
        await store.aggregate(Probe, [{"$match": since}])
    assert await store.count(Probe, {"hits": {"$gte": 1}}) == 2
    grouped = await store.aggregate(
        Probe, [{"$match": {"hits": {"$gte": 1}}}, {"$group": {"_id": None, "n": {"$sum": "$hits"}}}]
    )
    assert grouped == [{"_id": None, "n": 3}]
