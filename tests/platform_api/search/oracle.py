"""The whole ranking as it was before search built pages from counts (issue 18), kept verbatim as the
oracle the page plan is tested against: every candidate ranked at once, strata interleaved by smooth
weighted round-robin over the match counts. Not imported by the product."""

import hashlib
from collections.abc import Iterable

from platform_api.search.ranking import Candidate
from shared_models.enums import SubscriptionTier

FLOOR_SHARE = 0.15
RELEVANCE_STEP_KM = 0.5
# One star of (smoothed) rating is worth this many km of distance.
KM_PER_STAR = 2.0
# Bayesian smoothing: a provider's mean is pulled towards PRIOR_MEAN as if it had PRIOR_COUNT more reviews.
PRIOR_MEAN = 4.0
PRIOR_COUNT = 3
STRATA = (SubscriptionTier.premium, SubscriptionTier.pro, SubscriptionTier.basic)


def stratum_of(tier: SubscriptionTier) -> SubscriptionTier:
    """A price in no slot (`unknown`) ranks with the basic tier."""
    return tier if tier in STRATA else SubscriptionTier.basic


def smoothed_rating(candidate: Candidate) -> float:
    return (candidate.rating_sum + PRIOR_MEAN * PRIOR_COUNT) / (candidate.rating_count + PRIOR_COUNT)


def _hash(salt: str, key: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{salt}|{key}".encode()).digest()[:8], "big")


def relevance_key(candidate: Candidate, salt: str) -> tuple[int, int, str]:
    score = candidate.distance_km - KM_PER_STAR * (smoothed_rating(candidate) - PRIOR_MEAN)
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


def rank(candidates: Iterable[Candidate], salt: str) -> list[Candidate]:
    grouped: dict[SubscriptionTier, list[Candidate]] = {}
    for candidate in candidates:
        grouped.setdefault(stratum_of(candidate.tier), []).append(candidate)
    # A fixed order of strata (never the input's): float sums, and so the interleaving, must not depend on it.
    strata = {tier: grouped[tier] for tier in STRATA if tier in grouped}
    for members in strata.values():
        members.sort(key=lambda c: relevance_key(c, salt), reverse=True)  # best last: pop() is O(1)
    weights = quotas({tier: len(members) for tier, members in strata.items()})
    order = {tier: _hash(salt, f"tier:{tier.value}") for tier in weights}
    credit = dict.fromkeys(weights, 0.0)
    ranked: list[Candidate] = []
    while strata:
        for tier in strata:
            credit[tier] += weights[tier]
        chosen = max(strata, key=lambda t: (credit[t], order[t]))
        credit[chosen] -= sum(weights[t] for t in strata)
        ranked.append(strata[chosen].pop())
        if not strata[chosen]:
            del strata[chosen]
    return ranked
