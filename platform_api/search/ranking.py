"""Fair, deterministic ranking of search matches: tier strata interleaved by quota, relevance inside each.

A pure function of (matches, salt): no I/O, no clock, no randomness.

Quotas. Each tier's stratum is entitled to a share of positions equal to its share of the *matching*
providers, raised to a floor of `FLOOR_SHARE` (15 %) for every tier that has a match, then normalised: a
tier with 10 % of the matches still gets ~15 % of the top positions, and a tier with most of the matches
gets most of them. Paying more buys capacity and a badge (see entitlements/tiers.py), never a bigger share.

Interleaving. Positions are handed out by smooth weighted round-robin over the strata with matches left:
at each position every stratum's credit grows by its quota, the stratum with the most credit takes the
position and pays one position's worth. After k positions every stratum has within one position of
quota * k (while it still has providers), so each tier appears within the first ⌈1 / quota⌉ positions.

Inside a stratum, by relevance: distance, minus a bonus for a good (Bayesian-smoothed) rating, rounded to
`RELEVANCE_STEP_KM` so that near-equal providers tie; ties are broken by a hash of the provider id and the
salt (the day), so the same query on the same day gives the same order, and a tie does not favour the same
provider every day. Strata tied on credit are ordered the same way, by a hash of the tier and the salt.
"""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from shared_models.enums import SubscriptionTier

FLOOR_SHARE = 0.15
RELEVANCE_STEP_KM = 0.5
# One star of (smoothed) rating is worth this many km of distance.
KM_PER_STAR = 2.0
# Bayesian smoothing: a provider's mean is pulled towards PRIOR_MEAN as if it had PRIOR_COUNT more reviews.
PRIOR_MEAN = 4.0
PRIOR_COUNT = 3
STRATA = (SubscriptionTier.premium, SubscriptionTier.pro, SubscriptionTier.basic)


@dataclass(frozen=True)
class Candidate:
    provider_id: str
    tier: SubscriptionTier
    distance_km: float
    rating_count: int = 0
    rating_sum: int = 0


def stratum_of(tier: SubscriptionTier) -> SubscriptionTier:
    """A price in no slot (`unknown`) ranks with the basic tier."""
    return tier if tier in STRATA else SubscriptionTier.basic


def _hash(salt: str, key: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{salt}|{key}".encode()).digest()[:8], "big")


def rating_bonus_km(rating_count: int, rating_sum: int) -> float:
    """How many km of distance a rating is worth: KM_PER_STAR x (smoothed mean - PRIOR_MEAN), so from
    -6 km (all one-star) to just under +2 km (many five-star reviews); 0 with no reviews."""
    smoothed = (rating_sum + PRIOR_MEAN * PRIOR_COUNT) / (rating_count + PRIOR_COUNT)
    return KM_PER_STAR * (smoothed - PRIOR_MEAN)


def relevance_key(candidate: Candidate, salt: str) -> tuple[int, int, str]:
    score = candidate.distance_km - rating_bonus_km(candidate.rating_count, candidate.rating_sum)
    return round(score / RELEVANCE_STEP_KM), _hash(salt, candidate.provider_id), candidate.provider_id


def quotas(counts: dict[SubscriptionTier, int]) -> dict[SubscriptionTier, float]:
    """Each stratum's share of positions: its share of matches, at least FLOOR_SHARE, normalised."""
    present = {tier: n for tier, n in counts.items() if n > 0}
    total = sum(present.values())
    if not total:
        return {}
    raised = {tier: max(n / total, FLOOR_SHARE) for tier, n in present.items()}
    norm = sum(raised.values())
    return {tier: share / norm for tier, share in raised.items()}


def strata_sequence(counts: dict[SubscriptionTier, int], salt: str, positions: int) -> list[SubscriptionTier]:
    """The stratum that takes each of the first `positions` positions, given each stratum's number of
    matches: the whole interleaving needs only the counts, not the matches themselves."""
    left = {tier: counts[tier] for tier in STRATA if counts.get(tier, 0) > 0}
    # A fixed order of strata (never the input's): float sums, and so the interleaving, must not depend on it.
    weights = quotas(left)
    order = {tier: _hash(salt, f"tier:{tier.value}") for tier in weights}
    credit = dict.fromkeys(weights, 0.0)
    sequence: list[SubscriptionTier] = []
    while left and len(sequence) < positions:
        for tier in left:
            credit[tier] += weights[tier]
        chosen = max(left, key=lambda t: (credit[t], order[t]))
        credit[chosen] -= sum(weights[t] for t in left)
        sequence.append(chosen)
        left[chosen] -= 1
        if not left[chosen]:
            del left[chosen]
    return sequence


def rank(candidates: Iterable[Candidate], salt: str) -> list[Candidate]:
    """Every candidate in ranked order (the whole ranking; search builds only the page it shows)."""
    grouped: dict[SubscriptionTier, list[Candidate]] = {}
    for candidate in candidates:
        grouped.setdefault(stratum_of(candidate.tier), []).append(candidate)
    for members in grouped.values():
        members.sort(key=lambda c: relevance_key(c, salt), reverse=True)  # best last: pop() is O(1)
    counts = {tier: len(members) for tier, members in grouped.items()}
    return [grouped[tier].pop() for tier in strata_sequence(counts, salt, sum(counts.values()))]
