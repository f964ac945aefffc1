"""`shared_models.store` is the one gateway to the raw collection API, and it keeps the engine's rules.

1. On the source: no module outside the store reaches a raw collection (`get_pymongo_collection()`, a value
   typed as a pymongo collection or database, and every method called on one), but for stream plumbing
   and migrations, named below with what they may call.
2. Against the real engine: each rule the store enforces, and the job lease's datetime.
"""

import ast
import asyncio
from collections.abc import AsyncIterator, Iterator
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
from tests.conftest import Engine

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("platform_api", "chat_server", "shared_models", "scripts")
STORE = "shared_models/store.py"


# For good: modules whose job is the raw API itself, each with the only raw uses it may make.
PLUMBING: dict[str, tuple[frozenset[str] | None, str]] = {
    "shared_models/runtime/change_streams.py": (
        frozenset({"get_pymongo_collection", ".watch()", "import pymongo.asynchronous.collection"}),
        "stream plumbing: opens each collection's change stream and handles the engine's cursor faults; "
        "reads and writes no document",
    ),
    "scripts/migrate.py": (
        None,
        "a migration rewrites shapes the documents no longer describe, before `init_models` binds them "
        "(a unique index would refuse to build on unmigrated data): raw by design",
    ),
}

RAW_GETTERS = frozenset({"get_pymongo_collection", "get_motor_collection"})
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


def _targets(node: ast.expr) -> Iterator[str]:
    if isinstance(node, ast.Name):
        yield node.id
    elif isinstance(node, ast.Tuple | ast.List):
        for element in node.elts:
            yield from _targets(element)


class _Module:
    """The raw sites of one module: names bound to a raw collection or database (by a getter, a raw type
    annotation, or indexing a raw database), and every method called on such a value."""

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self.raw_names: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.arg) and _raw_annotation(node.annotation):
                self.raw_names.add(node.arg)
            elif isinstance(node, ast.AnnAssign) and _raw_annotation(node.annotation):
                self.raw_names.update(_targets(node.target))
        while self._bind_assignments():
            pass

    def raw(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Call):
            return isinstance(node.func, ast.Attribute) and node.func.attr in RAW_GETTERS
        if isinstance(node, ast.Name):
            return node.id in self.raw_names
        if isinstance(node, ast.Subscript):  # db["messages"]
            return self.raw(node.value)
        if isinstance(node, ast.Tuple):
            return any(self.raw(e) for e in node.elts)
        return False

    def _bind_assignments(self) -> bool:
        grew = False
        for node in ast.walk(self.tree):
            pairs: list[tuple[ast.expr, ast.expr]] = []
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                        pairs += list(zip(target.elts, node.value.elts, strict=False))
                    else:
                        pairs.append((target, node.value))
            elif isinstance(node, ast.AnnAssign | ast.NamedExpr) and node.value is not None:
                pairs.append((node.target, node.value))
            for target, value in pairs:
                if self.raw(value):
                    names = set(_targets(target)) - self.raw_names
                    grew |= bool(names)
                    self.raw_names |= names
        return grew

    def sites(self, rel: str) -> list[Site]:
        found = []
        for node in ast.walk(self.tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and self.raw(node.func.value)
            ):
                found.append(Site(rel, node.lineno, f".{node.func.attr}()"))
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Attribute) and node.attr in RAW_GETTERS:
                found.append(Site(rel, node.lineno, node.attr))
            elif isinstance(node, ast.ImportFrom | ast.Import):
                modules = (
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                )
                for module in modules:
                    if module.startswith(RAW_MODULES) or module in ABSORBED:
                        found.append(Site(rel, node.lineno, f"import {module}"))
        return sorted(found, key=lambda s: (s.line, s.what))


def raw_sites(root: Path, packages: tuple[str, ...] = PACKAGES) -> list[Site]:
    """Every raw use outside the store, allowed or not."""
    found = []
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            if rel != STORE:
                found += _Module(ast.parse(path.read_text(), filename=rel)).sites(rel)
    return found


def violations(root: Path, packages: tuple[str, ...] = PACKAGES) -> list[str]:
    found = []
    for site in raw_sites(root, packages):
        if site.path in PLUMBING:
            allowed, _ = PLUMBING[site.path]
            if allowed is None or site.what in allowed:
                continue
        found.append(f"{site}: call the store (shared_models/store.py) instead")
    return found


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


@pytest.mark.parametrize("source", SNEAKY)
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
        "    await User.find({'a': 1}).update_many({'$set': {'b': 2}})\n"
        "    await Message.find_one({'x': 1})\n"
        "    return await Message.aggregate([]).to_list()\n"
    )
    assert raw_sites(tmp_path, ("platform_api",)) == []


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
