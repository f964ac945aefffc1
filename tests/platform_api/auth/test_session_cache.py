"""The session cache's rules, in process on the real engine: a stale "allowed" is never served."""

import asyncio
import math
from datetime import UTC, datetime, timedelta

import httpx
from bson import ObjectId
from fastapi import FastAPI

from shared_models.documents import RevokedSession, User
from shared_models.enums import UserStatus
from shared_models.services import session_cache
from shared_models.services.session_cache import MAX_LAG_SECONDS, SessionCache
from tests.factories import API, Account, register


def counted(counter: object) -> float:
    return float(counter._value.get())  # type: ignore[attr-defined]


async def cached_account(api: httpx.AsyncClient, cache: SessionCache) -> Account:
    """A new customer whose session the app's cache holds (its streams caught up past the sign-up)."""
    account = await register(api)
    await cache.synced()
    assert (await api.get(f"{API}/auth/me", headers=account.bearer)).status_code == 200
    assert account.id in cache.entries
    return account


async def test_a_known_session_is_served_from_the_cache_without_a_read(
    api: httpx.AsyncClient, platform_app: FastAPI
) -> None:
    cache: SessionCache = platform_app.state.session_cache
    account = await cached_account(api, cache)
    hits = counted(session_cache.HITS)
    for _ in range(3):
        me = await api.get(f"{API}/auth/me", headers=account.bearer)
        assert me.status_code == 200 and me.json()["user"]["id"] == account.id
    assert counted(session_cache.HITS) == hits + 3


async def test_while_the_streams_are_behind_every_check_reads_through(
    api: httpx.AsyncClient, platform_app: FastAPI
) -> None:
    """A revocation written by someone else is seen at once when the cache cannot vouch for its streams."""
    cache: SessionCache = platform_app.state.session_cache
    account = await cached_account(api, cache)
    real_now = cache.now
    cache.now = lambda: real_now() + MAX_LAG_SECONDS + 5  # as if no poll had caught up for that long
    try:
        assert not cache.fresh() and cache.lag() > MAX_LAG_SECONDS
        reads = counted(session_cache.READ_THROUGHS)
        await User.get_pymongo_collection().update_one(
            {"_id": ObjectId(account.id)},
            {"$set": {"status": UserStatus.suspended.value}},
        )
        refused = await api.get(f"{API}/auth/me", headers=account.bearer)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "account_suspended"
        assert counted(session_cache.READ_THROUGHS) == reads + 1
    finally:
        cache.now = real_now


async def test_a_read_overtaken_by_a_change_is_not_kept(
    api: httpx.AsyncClient, platform_app: FastAPI
) -> None:
    cache: SessionCache = platform_app.state.session_cache
    account = await register(api)
    await cache.synced()
    user = await User.get(account.id)
    assert user is not None and user.id is not None
    loading = asyncio.create_task(cache.user(user.id))
    await asyncio.sleep(0)  # the read is in flight
    session_cache.forget(account.id)  # a change to this user lands meanwhile
    entry = await loading
    assert entry is not None and entry.user.id == user.id
    assert account.id not in cache.entries  # what that read saw may predate the change


async def test_a_stream_failure_drops_every_entry_and_reads_through_until_it_is_back(
    api: httpx.AsyncClient, platform_app: FastAPI
) -> None:
    cache = SessionCache()
    watching = asyncio.create_task(cache.watch())
    try:
        account = await register(api)
        await cache.synced()
        user = await User.get(account.id)
        assert user is not None and user.id is not None
        await cache.user(user.id)
        assert account.id in cache.entries
        watching.cancel()
        await asyncio.wait([watching])
        assert not cache.entries and not cache.watching() and cache.lag() == math.inf
        await RevokedSession(
            jti="elsewhere",
            user_id=account.id,
            revoked_at=user.created_at,
            expires_at=datetime.now(UTC) + timedelta(hours=1),  # not swept by the TTL monitor meanwhile
        ).insert()
        reads = counted(session_cache.READ_THROUGHS)
        entry = await cache.user(user.id)
        assert entry is not None and "elsewhere" in entry.revoked  # read through, not remembered
        assert counted(session_cache.READ_THROUGHS) == reads + 1 and not cache.entries
    finally:
        watching.cancel()


async def test_the_cache_is_bounded(api: httpx.AsyncClient, platform_app: FastAPI) -> None:
    cache = SessionCache(size=2)
    watching = asyncio.create_task(cache.watch())
    try:
        accounts = [await register(api) for _ in range(3)]
        await cache.synced()
        for account in accounts:
            user = await User.get(account.id)
            assert user is not None and user.id is not None
            await cache.user(user.id)
        assert list(cache.entries) == [accounts[1].id, accounts[2].id]  # least recently used dropped
    finally:
        watching.cancel()
        await asyncio.wait([watching])


async def test_the_metrics_are_exposed(api: httpx.AsyncClient) -> None:
    text = (await api.get("/metrics")).text
    for name in (
        "session_cache_hits_total",
        "session_cache_misses_total",
        "session_cache_read_throughs_total",
        "session_cache_entries",
        "session_cache_stream_lag_seconds",
    ):
        assert f"\n{name} " in text, name
