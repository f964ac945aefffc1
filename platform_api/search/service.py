"""Provider search: one page of the fair ranking, built from the rows it shows, not from every match.

The ranking (ranking.py) interleaves tier strata by quotas computed from each stratum's number of matches,
and orders each stratum by relevance key = round((distance - rating bonus) / 0.5 km), ties broken by a
salted hash. So a page of N = offset + limit positions needs only (1) the number of matches per tier and
(2) the best m_t rows of each stratum, where m_t is how many of the first N positions it takes — and the
whole interleaving follows from the counts alone (`strata_sequence`). The plan:

1. Counts: for each of the point's seven cells (one per resolution band), one aggregation counts the rows
   that match, grouped by tier. The engine evaluates everything in `$match`, served by the `cell` index:
   the point within the provider's reach (the dot product of the two centres' unit vectors against the
   stored cosine of the reach — the radius capped by the tier), the filters, and good standing (rows of a
   provider not in good standing carry no tier). Seven numbers per cell come back; no row.
2. The best m_t of each stratum: the engine returns every matching row of the stratum whose score
   (distance - bonus) is at most a threshold T — a predicate on stored fields, dot ≥ cos((T + bonus_km) / R)
   — one aggregation per cell that has matches, all strata at once. Every row of key ≤ K comes back when
   T ≥ 0.5·K + 0.25 + `SCORE_SLACK_KM`, so the best m_t by (key, hash) are known exactly once m_t rows have
   a key that low (or the stratum is exhausted). T starts from an estimate made from the per-cell counts
   and grows (only the rows between the old and the new threshold are read) until that holds.
3. The page: the positions offset … offset + limit - 1 of the sequence, each taking its stratum's next row.

Engine work is index-served lookups plus per-row arithmetic in SQL; the rows read and the Python work grow
with the page and the offset, not with the matches. The result is exactly the full ranking's page (tests:
an oracle property test against the full ranking over every match). Engine notes that shaped this: the
embedded engine evaluates `$expr` (arithmetic, `$cos`) inside an aggregation's `$match` as SQL, but a `find`
ignores `$expr`, and `$acos`, computed `$addFields` or a `$sort` on a computed field fall back to reading
the whole collection; a multikey `categories` member cannot be matched in an aggregation (hence `serves`).
"""

import asyncio
import base64
import hashlib
import json
import math
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog

from platform_api.entitlements.tiers import ENTITLEMENTS
from platform_api.search.coverage import (
    BANDS,
    EARTH_RADIUS_KM,
    cells_of,
    cos_of_km,
    haversine_km,
    unit_vector,
)
from platform_api.search.errors import InvalidCursor
from platform_api.search.ranking import (
    RELEVANCE_STEP_KM,
    STRATA,
    Candidate,
    rank,
    relevance_key,
    strata_sequence,
    stratum_of,
)
from shared_models import store
from shared_models.documents import ProviderCoverage, SearchEvent, SearchImpression
from shared_models.enums import ServiceCategory, SubscriptionTier
from shared_models.ids import time_key

log = structlog.get_logger(__name__)
IMPRESSION_RETENTION = timedelta(days=30)


@dataclass(frozen=True)
class SearchQuery:
    lat: float
    lng: float
    category: ServiceCategory | None = None
    min_rating: float | None = None
    max_price: int | None = None  # minor units, in `currency`
    currency: str | None = None
    max_distance_km: float | None = None

    def fingerprint(self) -> str:
        """What a cursor is bound to: the same query (to the metre), not another."""
        parts = [f"{self.lat:.5f}", f"{self.lng:.5f}", self.category, self.min_rating, self.max_price]
        parts += [self.currency, self.max_distance_km]
        return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Match:
    candidate: Candidate
    row: dict[str, Any]  # the provider's coverage row, raw (validated only for the page shown)

    def listing(self) -> ProviderCoverage:
        listing: ProviderCoverage = ProviderCoverage.model_validate(self.row)
        return listing


@dataclass(frozen=True)
class ResultPage:
    matches: list[Match]
    total: int
    offset: int
    next_cursor: str | None


def encode_cursor(offset: int, day: str, fingerprint: str) -> str:
    raw = json.dumps({"o": offset, "d": day, "q": fingerprint}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, fingerprint: str) -> tuple[int, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset, day, bound = data["o"], data["d"], data["q"]
        # Exactly the types encode_cursor writes: no float (1e309 is infinity), bool or numeric string.
        if type(offset) is not int or not isinstance(day, str) or not isinstance(bound, str):
            raise TypeError("not a cursor of ours")
        datetime.strptime(day, "%Y-%m-%d")  # noqa: DTZ007 - a date label, not a moment
    except (ValueError, KeyError, TypeError, OverflowError, RecursionError) as exc:
        raise InvalidCursor(field="cursor") from exc
    if bound != fingerprint or offset < 0:
        raise InvalidCursor("This cursor belongs to a different search.", field="cursor")
    return offset, day


FIND_BATCH = 5000  # rows per reply: a dense cell in one round trip, not the server's default 101
SCORE_SLACK_KM = 0.001  # the engine's arccos-free score against Python's haversine: a wide margin (1 m)
SCORE_CEILING_KM = 1000.0  # above the widest reach (200 km) plus the worst rating penalty (6 km): every match
CAPS = {stratum: ENTITLEMENTS[stratum].max_service_radius_km for stratum in STRATA}


def _dot(vector: tuple[float, float, float]) -> dict[str, Any]:
    x, y, z = vector
    return {
        "$add": [{"$add": [{"$multiply": ["$x", x]}, {"$multiply": ["$y", y]}]}, {"$multiply": ["$z", z]}]
    }


def _score_at_most(dot: dict[str, Any], threshold_km: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """The row's score (distance - bonus_km) is at most `threshold_km` — its distance at most threshold +
    bonus — and its negation, as `$expr` conditions."""
    reach = {"$add": [threshold_km, "$bonus_km"]}
    cos_reach = {"$cos": {"$divide": [reach, EARTH_RADIUS_KM]}}
    within = {"$and": [{"$gte": [reach, 0]}, {"$gte": [dot, cos_reach]}]}
    beyond = {"$or": [{"$lt": [reach, 0]}, {"$lt": [dot, cos_reach]}]}
    return within, beyond


def _serves(row: dict[str, Any], query: SearchQuery, distance: float) -> bool:
    """The whole ranking's exact check: the point within the provider's radius and its tier's maximum, and
    the filters."""
    tier = SubscriptionTier(row["tier"])
    if distance > row["radius_km"] or distance > ENTITLEMENTS[tier].max_service_radius_km:
        return False
    if query.max_distance_km is not None and distance > query.max_distance_km:
        return False
    if query.category is not None and query.category.value not in row["categories"]:
        return False
    if query.min_rating is not None and row["rating_sum"] < query.min_rating * max(row["rating_count"], 1):
        return False
    if query.max_price is not None:
        price = row.get("price_from")
        if price is None or price["currency"] != query.currency or price["amount_minor"] > query.max_price:
            return False
    return True


def _by_stratum(by_tier: Counter[SubscriptionTier]) -> Counter[SubscriptionTier]:
    """Counts per tier as counts per ranking stratum (unknown and basic share one)."""
    strata: Counter[SubscriptionTier] = Counter()
    for tier, n in by_tier.items():
        strata[stratum_of(tier)] += n
    return strata


def _all(conditions: list[dict[str, Any]]) -> dict[str, Any]:
    # The engine falls back to evaluating a one-element `$and` or `$or` in Python over the whole collection
    # (seconds): never send one.
    return conditions[0] if len(conditions) == 1 else {"$and": conditions}


def _any(conditions: list[dict[str, Any]]) -> dict[str, Any]:
    return conditions[0] if len(conditions) == 1 else {"$or": conditions}


@dataclass
class _Stratum:
    """Search's progress on one stratum: how many rows the page needs (m_t), how many match, what is read."""

    needed: int
    matches: int
    target_km: float  # the threshold of the next read
    read_km: float | None = None  # every matching row of score ≤ this has been read (None: nothing yet)
    rows: dict[str, Match] = field(default_factory=dict)  # by provider id

    def keep(self, match: Match) -> None:
        """A row read; of two versions of one listing (a rebuild in flight) the newer one speaks."""
        seen = self.rows.get(match.candidate.provider_id)
        if seen is None or match.row["area_version"] > seen.row["area_version"]:
            self.rows[match.candidate.provider_id] = match

    def best(self, salt: str) -> list[Match] | None:
        """The stratum's best `needed` rows in order, if the rows read determine them; else None."""
        assert self.read_km is not None
        keyed = sorted((relevance_key(m.candidate, salt), m) for m in self.rows.values())
        if len(keyed) >= self.matches or self.read_km >= SCORE_CEILING_KM:
            return [m for _, m in keyed[: self.needed]]
        # Every row of key ≤ known has been read: the rows with such keys are in their final order.
        known = math.floor((self.read_km - SCORE_SLACK_KM - RELEVANCE_STEP_KM / 2) / RELEVANCE_STEP_KM)
        settled = [m for key, m in keyed if key[0] <= known]
        return settled[: self.needed] if len(settled) >= self.needed else None


def _first_target(
    needed: int, stratum: SubscriptionTier, strata_of_cells: list[Counter[SubscriptionTier]]
) -> float:
    """A first threshold (km of score) expected to reach `needed` rows of the stratum, from its count in
    each cell: a cell's matches lie within its band's largest radius U (capped by the tier), and at least
    as densely near the point as uniformly over the disk, so ≥ n·(x/U)² of them lie within x. Aim at
    1.5 x needed + 2; over-estimates read a few rows more, under-estimates cost one more round."""
    aim = 1.5 * needed + 2
    limits = [min(band, CAPS[stratum]) for band, _ in BANDS]

    def expected(x: float) -> float:
        return sum(c[stratum] * min(1.0, (x / u) ** 2) for c, u in zip(strata_of_cells, limits, strict=True))

    low, high = 0.0, max(limits)
    if expected(high) <= aim:
        return SCORE_CEILING_KM  # the stratum is small: read it whole
    for _ in range(30):
        mid = (low + high) / 2
        low, high = (mid, high) if expected(mid) < aim else (low, mid)
    return high + 1.0  # the bonus of a typical rating is within ±1 km


class SearchService:
    async def search_page(
        self, query: SearchQuery, cursor: str | None, limit: int, salt_secret: str, now: datetime
    ) -> ResultPage:
        """The page plan (module docstring): counts per cell, then only the rows the page shows."""
        fingerprint = query.fingerprint()
        offset, day = decode_cursor(cursor, fingerprint) if cursor else (0, now.date().isoformat())
        salt = f"{day}|{salt_secret}"
        cells = cells_of(query.lat, query.lng)
        vector = unit_vector(query.lat, query.lng)
        per_cell = await asyncio.gather(*(self._count(query, cell, vector) for cell in cells))
        by_tier: Counter[SubscriptionTier] = Counter()
        for counts in per_cell:
            by_tier.update(counts)
        by_stratum = _by_stratum(by_tier)
        total = sum(by_stratum.values())
        sequence = strata_sequence(dict(by_stratum), salt, min(offset + limit, total))
        best = await self._best(query, cells, vector, per_cell, Counter(sequence), dict(by_stratum), salt)
        taken: Counter[SubscriptionTier] = Counter()
        ranked: list[Match] = []
        for stratum in sequence:
            members = best[stratum]
            if taken[stratum] < len(members):  # short only while a rebuild in flight is counted twice
                ranked.append(members[taken[stratum]])
            taken[stratum] += 1
        return await self._answer(ranked[offset : offset + limit], offset, by_tier, day, fingerprint, now)

    async def search_whole(
        self, query: SearchQuery, cursor: str | None, limit: int, salt_secret: str, now: datetime
    ) -> ResultPage:
        """The same page by the whole ranking: every match read (`matches`) and ranked (`rank`)."""
        fingerprint = query.fingerprint()
        offset, day = decode_cursor(cursor, fingerprint) if cursor else (0, now.date().isoformat())
        found = await self.matches(query)
        by_id = {m.candidate.provider_id: m for m in found}
        ranked = rank((m.candidate for m in found), salt=f"{day}|{salt_secret}")
        shown = [by_id[c.provider_id] for c in ranked[offset : offset + limit]]
        by_tier = Counter(m.candidate.tier for m in found)
        return await self._answer(shown, offset, by_tier, day, fingerprint, now)

    async def _answer(
        self,
        shown: list[Match],
        offset: int,
        by_tier: Counter[SubscriptionTier],
        day: str,
        fingerprint: str,
        now: datetime,
    ) -> ResultPage:
        """The page of either plan, with its cursor (never one that does not move on) and its record."""
        total = sum(by_tier.values())
        next_offset = offset + len(shown)
        more = shown and next_offset < total
        next_cursor = encode_cursor(next_offset, day, fingerprint) if more else None
        await self._record(shown, offset, by_tier, now)
        return ResultPage(shown, total, offset, next_cursor)

    async def matches(self, query: SearchQuery) -> list[Match]:
        """Every match: the rows `lookup` finds in the point's seven cells, each then checked exactly."""
        batches = await asyncio.gather(
            *(
                store.read_many(ProviderCoverage, self.lookup(query, cell), batch_size=FIND_BATCH)
                for cell in cells_of(query.lat, query.lng)
            )
        )
        newest: dict[str, dict[str, Any]] = {}
        for row in (r for batch in batches for r in batch):
            seen = newest.get(row["provider_id"])
            if seen is None or row["area_version"] > seen["area_version"]:
                newest[row["provider_id"]] = row  # a rebuild in flight: the newer version speaks
        found = []
        for row in newest.values():
            distance = haversine_km(query.lat, query.lng, row["lat"], row["lng"])
            if row["tier"] is not None and _serves(row, query, distance):
                tier = SubscriptionTier(row["tier"])
                candidate = Candidate(
                    row["provider_id"], tier, distance, row["rating_count"], row["rating_sum"]
                )
                found.append(Match(candidate, row))
        return found

    def lookup(self, query: SearchQuery, cell: str) -> dict[str, Any]:
        """The whole plan's `find` on one cell: rows whose reach box holds the point (an empty box: not in
        good standing) and that pass the plain filters, evaluated by the engine on the `cell` index's hits."""
        found: dict[str, Any] = {
            "cell": cell,
            "south": {"$lte": query.lat},
            "north": {"$gte": query.lat},
            "west": {"$lte": query.lng},
            "east": {"$gte": query.lng},
        }
        if query.category is not None:
            found[f"serves.{query.category.value}"] = True
        if query.max_price is not None:
            found["price_from.currency"] = query.currency
            found["price_from.amount_minor"] = {"$lte": query.max_price}
        return found

    def _match(self, query: SearchQuery, cell: str, dot: dict[str, Any]) -> dict[str, Any]:
        """The `$match` of the rows of `cell` whose provider serves the point and passes the filters."""
        match: dict[str, Any] = {"cell": cell}
        conditions: list[dict[str, Any]] = [{"$gte": [dot, "$cos_reach"]}]
        if query.category is not None:
            match[f"serves.{query.category.value}"] = True
        if query.max_price is not None:
            match["price_from.currency"] = query.currency
            match["price_from.amount_minor"] = {"$lte": query.max_price}
        if query.min_rating is not None:
            conditions.append({"$gte": ["$rating_sum", {"$multiply": [query.min_rating, "$rating_weight"]}]})
        if query.max_distance_km is not None:
            conditions.append({"$gte": [dot, cos_of_km(query.max_distance_km)]})
        match["$expr"] = _all(conditions)
        return match

    async def _count(
        self, query: SearchQuery, cell: str, vector: tuple[float, float, float]
    ) -> Counter[SubscriptionTier]:
        """The cell's matches per tier (providers not in good standing carry no tier: not counted)."""
        pipeline = [
            {"$match": self._match(query, cell, _dot(vector))},
            {"$group": {"_id": "$tier", "n": {"$sum": 1}}},
        ]
        rows = await store.aggregate(ProviderCoverage, pipeline)
        return Counter({SubscriptionTier(r["_id"]): int(r["n"]) for r in rows if r["_id"]})

    async def _best(
        self,
        query: SearchQuery,
        cells: list[str],
        vector: tuple[float, float, float],
        per_cell: list[Counter[SubscriptionTier]],
        needed: Counter[SubscriptionTier],
        matches: dict[SubscriptionTier, int],
        salt: str,
    ) -> dict[SubscriptionTier, list[Match]]:
        """Each stratum's best `needed[stratum]` matches in ranked order (see the module's plan, step 2)."""
        strata_of_cells = [_by_stratum(counts) for counts in per_cell]
        progress = {
            s: _Stratum(n, matches[s], _first_target(n, s, strata_of_cells)) for s, n in needed.items()
        }
        done: dict[SubscriptionTier, list[Match]] = {s: [] for s in STRATA}
        while progress:
            reads = []
            for cell, strata in zip(cells, strata_of_cells, strict=True):
                windows = {s: (p.read_km, p.target_km) for s, p in progress.items() if strata[s]}
                if windows:
                    reads.append(self._read(query, cell, vector, windows))
            for rows in await asyncio.gather(*reads):
                for match in rows:
                    progress[stratum_of(match.candidate.tier)].keep(match)
            for stratum, state in list(progress.items()):
                state.read_km = state.target_km
                order = state.best(salt)
                if order is not None:
                    done[stratum] = order
                    del progress[stratum]
                else:
                    state.target_km = min(SCORE_CEILING_KM, max(2 * state.read_km, state.read_km + 2))
        return done

    async def _read(
        self,
        query: SearchQuery,
        cell: str,
        vector: tuple[float, float, float],
        windows: dict[SubscriptionTier, tuple[float | None, float]],
    ) -> list[Match]:
        """The matching rows of `cell` whose score lies in (low, high] of their stratum's window."""
        dot = _dot(vector)
        match = self._match(query, cell, dot)
        wanted = []
        for stratum, (low, high) in windows.items():
            window = [{"$eq": ["$stratum", stratum.value]}, _score_at_most(dot, high)[0]]
            if low is not None:
                window.append(_score_at_most(dot, low)[1])
            wanted.append(_all(window))
        match["$expr"] = _all([match["$expr"], _any(wanted)])
        found = []
        for row in await store.aggregate(ProviderCoverage, [{"$match": match}]):
            distance = haversine_km(query.lat, query.lng, row["lat"], row["lng"])
            tier = SubscriptionTier(row["tier"])
            candidate = Candidate(row["provider_id"], tier, distance, row["rating_count"], row["rating_sum"])
            found.append(Match(candidate, row))
        return found

    async def _record(
        self, shown: list[Match], offset: int, counts: Counter[SubscriptionTier], now: datetime
    ) -> None:
        search_id, expires = uuid.uuid4().hex, now + IMPRESSION_RETENTION
        event = SearchEvent(
            at=now,
            at_key=time_key(now),
            eligible_by_tier={t.value: n for t, n in counts.items()},
            shown_by_tier={t.value: n for t, n in Counter(m.candidate.tier for m in shown).items()},
            expires_at=expires,
        )
        impressions = [
            SearchImpression(
                search_id=search_id,
                provider_id=m.candidate.provider_id,
                tier=m.candidate.tier,
                position=offset + i + 1,
                at=now,
                at_key=time_key(now),
                expires_at=expires,
            )
            for i, m in enumerate(shown)
        ]
        await event.insert()
        if impressions:
            await SearchImpression.insert_many(impressions)

    async def fairness(
        self, since: datetime, until: datetime
    ) -> tuple[int, dict[SubscriptionTier, tuple[int, int]]]:
        """The searches in [since, until), and per tier: (impressions shown, providers eligible) over them."""
        window = {"at_key": {"$gte": time_key(since), "$lt": time_key(until)}}
        searches = await store.count(SearchEvent, window)
        shown_rows = await store.aggregate(
            SearchImpression, [{"$match": window}, {"$group": {"_id": "$tier", "n": {"$sum": 1}}}]
        )
        shown = {row["_id"]: int(row["n"]) for row in shown_rows}
        sums = {f"e_{t.value}": {"$sum": f"$eligible_by_tier.{t.value}"} for t in SubscriptionTier}
        eligible_rows = await store.aggregate(
            SearchEvent, [{"$match": window}, {"$group": {"_id": None, **sums}}]
        )
        totals = (eligible_rows or [{}])[0]
        tiers = [*STRATA, SubscriptionTier.unknown]
        return searches, {t: (shown.get(t.value, 0), int(totals.get(f"e_{t.value}") or 0)) for t in tiers}


search_service = SearchService()
