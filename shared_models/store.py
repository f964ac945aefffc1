"""The one gateway to the raw collection API: every call on `Document.get_pymongo_collection()` is made here,
so the embedded engine's write rules (README, "Engine notes") are kept in one module, not at every
call site. Beanie's own queries (`Model.find`, `.insert()`, `.get`) stay where they are.

Each operation is named for what the call sites do with it and says which engine rule it respects. Updates
are checked before they leave: an update the engine would store wrongly raises `UnsafeForEngine` (a bug in
the caller, never a client's error) instead of writing a value that reads back as something else.
"""

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from beanie import Document
from bson import ObjectId
from pymongo import ReturnDocument, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared_models.clock import to_millis
from shared_models.documents import JobLease
from shared_models.ids import time_key

__all__ = [
    "DUPLICATE_KEY",
    "UnsafeForEngine",
    "Updated",
    "acquire_lease",
    "aggregate",
    "claim_window",
    "count",
    "delete_one",
    "insert_all",
    "insert_new",
    "read_many",
    "read_one",
    "replace_if",
    "replace_one_if",
    "time_key",
    "update_each",
    "update_if",
    "update_many",
    "update_one",
]

DUPLICATE_KEY = 11000
Query = Mapping[str, Any]
Update = Mapping[str, Any]
Fields = Mapping[str, Any]  # a projection: {"field": 1, ...}
Sort = Sequence[tuple[str, int]]  # [("field", 1 | -1), ...]
# Values the engine keeps as they are when pushed into an array; anything else (a subdocument, a datetime)
# it stores as a JSON string.
PUSHABLE = (str, int, float, bool, type(None))
RANGES = frozenset({"$gt", "$gte", "$lt", "$lte"})
LEASE_ATTEMPTS = 8  # each failed attempt means another taker changed the lease: lock-free, not unbounded


class UnsafeForEngine(ValueError):
    """A write or a filter the embedded engine would get silently wrong (README, "Engine notes"): fix the caller."""


class Updated(NamedTuple):
    matched: int  # documents the filter matched
    modified: int  # of those, documents the update changed


# --- engine rules, checked before anything is sent ------------------------------------------------------


def _check_update(update: Update) -> None:
    """Refuse what the engine stores as something else: a datetime written by `$set` (at the top level or
    by a dotted path) reads back as a naive string, `$min` does the same, `$max` ignores it; a subdocument
    or datetime `$push`-ed or `$addToSet`-ed into an array reads back as a JSON string. A datetime inside a
    `$set` subdocument or list, and one written by `$setOnInsert`, insert or replace, keep their type."""
    for operator in ("$set", "$min", "$max"):
        for path, value in (update.get(operator) or {}).items():
            if isinstance(value, datetime):
                raise UnsafeForEngine(
                    f"{operator} of the datetime {path!r}: the engine stores it as a string; replace the "
                    "document under a compare-and-set (replace_if), or write a time_key string beside it"
                )
    for operator in ("$push", "$addToSet"):
        for path, value in (update.get(operator) or {}).items():
            items = value["$each"] if isinstance(value, Mapping) and "$each" in value else [value]
            if any(not isinstance(item, PUSHABLE) for item in items):
                raise UnsafeForEngine(
                    f"{operator} of a subdocument or datetime into {path!r}: the engine stores it as a JSON "
                    "string; replace the document under a compare-and-set (replace_if)"
                )


def _conditions(query: Any) -> Iterator[tuple[str | None, Any]]:
    """Every (key, value) pair of a filter, at any depth (`$and`/`$or` lists and operator documents)."""
    if isinstance(query, Mapping):
        for key, value in query.items():
            yield key, value
            yield from _conditions(value)
    elif isinstance(query, list | tuple):
        for item in query:
            yield None, item
            yield from _conditions(item)


def _check_match(query: Query, where: str) -> None:
    """Refuse a filter an aggregation `$match` answers wrongly on the engine: a range on a stored datetime
    (measured: `$gte` matched every document, `$lt` none; range on a `time_key` string instead), and an
    ObjectId, which matches nothing (store references as 24-hex strings; select by `_id` with `read_one`)."""
    for key, value in _conditions(query):
        if key in RANGES and isinstance(value, datetime):
            raise UnsafeForEngine(f"{where}: a range on a datetime is answered wrongly; use a time_key")
        if isinstance(value, ObjectId):
            raise UnsafeForEngine(f"{where}: an ObjectId matches nothing in the engine's aggregations")


def _check_count(query: Query) -> None:
    """Refuse a count comparing with null (`{field: None}`, `$eq`/`$ne: None`): the engine's
    `count_documents` counts a null equality otherwise than `find` finds it, and `$ne: None` also counts
    documents that lack the field (measured), where MongoDB counts neither."""
    for key, value in _conditions(query):
        if value is None and key is not None and (key in ("$eq", "$ne") or not key.startswith("$")):
            raise UnsafeForEngine(f"count comparing {key!r} with null: the engine counts it wrongly")
    _check_match(query, "count")


def _collection(model: type[Document]) -> AsyncCollection[Any]:
    collection: AsyncCollection[Any] = model.get_pymongo_collection()
    return collection


def _record(document: Document) -> dict[str, Any]:
    """A document as stored, without its id (a replacement keeps the stored one)."""
    record: dict[str, Any] = document.model_dump(by_alias=True, exclude={"id", "revision_id"})
    return record


# --- reads ----------------------------------------------------------------------------------------------


async def read_one(
    model: type[Document], query: Query, fields: Fields | None = None
) -> dict[str, Any] | None:
    """The stored document matching `query` as a dict (only `fields` when given: `{"name": 1, ...}`), or
    None; not validated, for hot paths that read a few fields. References in it are 24-hex strings."""
    found: dict[str, Any] | None = await _collection(model).find_one(query, fields)
    return found


async def read_many(
    model: type[Document],
    query: Query,
    fields: Fields | None = None,
    *,
    sort: Sort | None = None,
    limit: int | None = None,
    batch_size: int | None = None,
) -> list[dict[str, Any]]:
    """Every stored document matching `query` as dicts, in `sort` order (`[("field", -1)]`), at most
    `limit`; `batch_size` tunes the round trips of a large read. Give the query its compound index (the
    engine scans without one) and query one equality at a time (`$in`/`$or` always scan)."""
    options: dict[str, Any] = {}
    if sort is not None:
        options["sort"] = list(sort)
    if limit is not None:
        options["limit"] = limit
    if batch_size is not None:
        options["batch_size"] = batch_size
    found: list[dict[str, Any]] = await _collection(model).find(query, fields, **options).to_list(None)
    return found


async def count(model: type[Document], query: Query) -> int:
    """How many documents of `model`'s collection match `query`: one aggregation (`$match`, `$count`).

    The engine answers `count_documents` (Beanie's `.count()`) by scanning the whole collection whatever
    the indexes (measured with nx-27017 0.8.1: 680 ms for a 15-document count among 20k messages, 1.2 ms
    as this aggregation, served by the index a `find` would use); MongoDB runs `count_documents` as this
    very aggregation. Refused: a comparison with null, a datetime range and an ObjectId (the engine
    answers each wrongly, see `_check_count` and `_check_match`)."""
    _check_count(query)
    cursor = await _collection(model).aggregate([{"$match": dict(query)}, {"$count": "n"}])
    rows = await cursor.to_list(1)
    return int(rows[0]["n"]) if rows else 0  # `$count` yields no document at all when nothing matched


async def aggregate(model: type[Document], pipeline: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The rows of an aggregation pipeline over `model`'s collection. Refused: a `$match` ranging on a
    datetime or naming an ObjectId (the engine's `$match` answers both wrongly: range on a time_key
    string, store references as strings); `$lookup` grows with the foreign collection on the engine."""
    for stage in pipeline:
        if "$match" in stage:
            _check_match(stage["$match"], "$match")
    cursor = await _collection(model).aggregate(list(pipeline))
    rows: list[dict[str, Any]] = await cursor.to_list(None)
    return rows


# --- compare-and-set ------------------------------------------------------------------------------------


async def replace_if(query: Query, after: Document) -> dict[str, Any] | None:
    """Replace the one document matching `query` (its guard: id + version, or + state, + deadline ...) with
    `after`; the stored document, or None when nothing matched (someone else changed it first).

    Replace, not `$set`/`$push`: the engine stores a `$push`-ed subdocument and a `$set` datetime as
    strings; a replacement is atomic on MongoDB and the engine alike. The engine answers `_id` as a string
    here: parse the result through the model."""
    stored: dict[str, Any] | None = await _collection(type(after)).find_one_and_replace(
        query, _record(after), return_document=ReturnDocument.AFTER
    )
    return stored


async def replace_one_if(query: Query, after: Document) -> bool:
    """`replace_if` for a caller that needs no stored copy: True when a document matched and was replaced."""
    replaced = await _collection(type(after)).replace_one(query, _record(after))
    return bool(replaced.matched_count)


async def update_if(
    model: type[Document],
    query: Query,
    update: Update,
    *,
    sort: Sort | None = None,
    fields: Fields | None = None,
    after: bool = True,
) -> dict[str, Any] | None:
    """Compare-and-set by one `find_one_and_update`: update the first document matching `query` (the
    guard; `sort` picks the first) and return it after the update (`after=False`: before), only `fields`
    when given; None when nothing matched — another writer won. Exactly one of any number of concurrent
    callers wins a guard, on MongoDB and on the engine (also across processes). The update is checked
    (`UnsafeForEngine`): no `$set` of a datetime, no subdocument `$push`."""
    _check_update(update)
    found: dict[str, Any] | None = await _collection(model).find_one_and_update(
        query,
        update,
        projection=fields,
        sort=list(sort) if sort is not None else None,
        return_document=ReturnDocument.AFTER if after else ReturnDocument.BEFORE,
    )
    return found


# --- field updates --------------------------------------------------------------------------------------


async def update_one(model: type[Document], query: Query, update: Update) -> Updated:
    """Update the first document matching `query` with `update` (`{"$set": {...}, "$inc": {...}}`); how many
    matched and changed. Checked (`UnsafeForEngine`): never a `$set`/`$min`/`$max` of a datetime, never a
    subdocument or datetime `$push`/`$addToSet` — the engine would store a string."""
    _check_update(update)
    result = await _collection(model).update_one(query, update)
    return Updated(result.matched_count, result.modified_count)


async def update_many(model: type[Document], query: Query, update: Update) -> Updated:
    """`update_one` for every document matching `query`, in one write (checked alike)."""
    _check_update(update)
    result = await _collection(model).update_many(query, update)
    return Updated(result.matched_count, result.modified_count)


async def update_each(model: type[Document], updates: Sequence[tuple[Query, Update]]) -> Updated:
    """Several (query, update) pairs, each applied to the first document its query matches, in one
    unordered round trip (a bulk write); each update is checked as in `update_one`."""
    if not updates:
        return Updated(0, 0)
    for _, update in updates:
        _check_update(update)
    result = await _collection(model).bulk_write(
        [UpdateOne(dict(query), dict(update)) for query, update in updates], ordered=False
    )
    return Updated(result.matched_count, result.modified_count)


# --- inserts, claims, deletes ---------------------------------------------------------------------------


async def _insert_new(collection: AsyncCollection[Any], docs: Sequence[Mapping[str, Any]]) -> list[int]:
    if not docs:
        return []
    try:
        await collection.insert_many(docs, ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(e.get("code") != DUPLICATE_KEY for e in errors):
            raise
        refused = {int(e["index"]) for e in errors}
        return [i for i in range(len(docs)) if i not in refused]
    return list(range(len(docs)))


async def insert_new(model: type[Document], docs: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert stored-shape records (`Model(...).model_dump(by_alias=True, exclude={"id", "revision_id"})`,
    or a hot path's own dict) in one unordered round trip, skipping those a unique key already holds
    (retries, sweepers, imports); returns the positions in `docs` that were new, in order. Any error other
    than a duplicate key is raised (`BulkWriteError`). Insert keeps datetimes and subdocuments as they are."""
    return await _insert_new(_collection(model), docs)


async def insert_all(model: type[Document], docs: Sequence[Mapping[str, Any]]) -> None:
    """Insert stored-shape records in one ordered round trip; any error (a duplicate too) is raised."""
    if docs:
        await _collection(model).insert_many(docs)


async def claim_window(model: type[Document], key: str, now_key: str, until_key: str) -> bool:
    """Claim `key` until `until_key` unless an earlier claim still runs at `now_key` (both `time_key`
    strings: the engine cannot be trusted with a `$set` datetime): one atomic upsert on `model`'s unique
    `key` field (documents shaped `{key, until_key}`). True if this call holds the claim; exactly one of
    concurrent claimers gets it.

    When the key exists and its window still runs, the upsert's insert collides with the unique index:
    MongoDB raises DuplicateKeyError, while the engine answers None. Both mean "not yours"."""
    try:
        claimed = await _collection(model).find_one_and_update(
            {"key": key, "until_key": {"$lte": now_key}},
            {"$set": {"until_key": until_key}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
    except DuplicateKeyError:
        return False
    return claimed is not None


async def clear_pending_events(model: type[Document], doc: Any) -> bool:
    """The transactional outbox's last step, for `model`'s owner: clear `doc`'s `pending_events` (and
    `pending_since`) once they are in the outbox, only if `doc` is still at the version published — a newer
    change's events stay pending for its own publish. Whether it was."""
    cleared = await update_one(
        model,
        {"_id": doc.id, "version": doc.version},
        {"$set": {"pending_events": [], "pending_since": None}},
    )
    return cleared.matched > 0


async def delete_one(model: type[Document], query: Query) -> bool:
    """Delete the first document matching `query`; True if one was deleted."""
    deleted = await _collection(model).delete_one(query)
    return bool(deleted.deleted_count)


# --- the job lease ----------------------------------------------------------------------------------------


def _moment(stored: Any) -> datetime:
    """A lease's stored expiry as an aware datetime. A lease renewed by the old `$set` was stored by the
    engine as a naive UTC string ("2026-01-02 03:04:05.678000"): read as that moment."""
    moment = datetime.fromisoformat(stored) if isinstance(stored, str) else stored
    if not isinstance(moment, datetime):
        raise TypeError(f"a lease expiry of type {type(stored).__name__}")
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def acquire_lease(name: str, holder: str, ttl: timedelta, now: datetime) -> bool:
    """Take the job lease `name` for `holder` until `now + ttl` (whole milliseconds) if it is free or
    expired, renew it if `holder` has it; False if another holder has it. Of concurrent takers exactly one
    wins.

    Whole-document replacement under a compare-and-set on what was read (`_id`, holder, expiry), or a
    first insert claimed by the unique `name`: `expires_at` stays a datetime (a `$set` of it is stored by
    the engine as a string). A lost compare-and-set reads again: someone else took or renewed it."""
    leases = _collection(JobLease)
    taken = _record(JobLease(name=name, holder=holder, expires_at=to_millis(now + ttl)))
    for _ in range(LEASE_ATTEMPTS):
        stored = await leases.find_one({"name": name})
        if stored is None:
            try:
                await leases.insert_one(dict(taken))  # a copy: insert_one adds `_id` to what it is given
            except DuplicateKeyError:
                continue
            return True
        if stored["holder"] != holder and _moment(stored["expires_at"]) > now:
            return False
        guard = {"_id": stored["_id"], "holder": stored["holder"], "expires_at": stored["expires_at"]}
        if (await leases.replace_one(guard, taken)).matched_count:
            return True
    return False
