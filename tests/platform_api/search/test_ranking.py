"""The ranking is a pure function: deterministic, complete, quota-honouring, fairly rotating ties."""

import math
import random
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from platform_api.search.ranking import FLOOR_SHARE, STRATA, Candidate, quotas, rank, stratum_of
from shared_models.enums import SubscriptionTier

TIERS = [*STRATA, SubscriptionTier.unknown]

candidates = st.lists(
    st.builds(
        Candidate,
        provider_id=st.uuids().map(lambda u: u.hex[:24]),
        tier=st.sampled_from(TIERS),
        distance_km=st.floats(min_value=0, max_value=100, allow_nan=False),
        rating_count=st.integers(min_value=0, max_value=50),
        rating_sum=st.just(0),
    ),
    max_size=60,
    unique_by=lambda c: c.provider_id,
)
salts = st.sampled_from(["2026-11-25|", "2026-11-26|", "2027-01-01|s3cret"])


@settings(max_examples=120, deadline=None)
@given(candidates, salts, st.randoms(use_true_random=False))
def test_deterministic_whatever_the_input_order(
    found: list[Candidate], salt: str, rnd: random.Random
) -> None:
    shuffled = list(found)
    rnd.shuffle(shuffled)
    assert rank(found, salt) == rank(shuffled, salt)


@settings(max_examples=120, deadline=None)
@given(candidates, salts, st.integers(min_value=1, max_value=25))
def test_pages_lose_and_duplicate_nothing(found: list[Candidate], salt: str, size: int) -> None:
    ranked = rank(found, salt)
    pages = [ranked[i : i + size] for i in range(0, len(ranked), size)]
    flat = [c.provider_id for p in pages for c in p]
    assert sorted(flat) == sorted(c.provider_id for c in found) and len(set(flat)) == len(flat)


@settings(max_examples=150, deadline=None)
@given(candidates, salts)
def test_every_tier_with_matches_gets_its_quota_of_every_prefix(found: list[Candidate], salt: str) -> None:
    ranked = rank(found, salt)
    sizes = Counter(stratum_of(c.tier) for c in found)
    weights = quotas(dict(sizes))
    seen: Counter[SubscriptionTier] = Counter()
    for k, candidate in enumerate(ranked, start=1):
        seen[stratum_of(candidate.tier)] += 1
        for tier, weight in weights.items():
            if seen[tier] < sizes[tier]:  # while the stratum still has providers to place
                assert seen[tier] >= math.floor(weight * k) - 1, (tier, k, weight, seen)
    for tier, weight in weights.items():  # present early: within ceil(1/quota) + 1 positions
        first = next(i for i, c in enumerate(ranked, start=1) if stratum_of(c.tier) is tier)
        assert first <= math.ceil(1 / weight) + 1


def test_quotas_are_shares_with_a_floor() -> None:
    q = quotas({SubscriptionTier.premium: 1, SubscriptionTier.pro: 9, SubscriptionTier.basic: 90})
    assert math.isclose(sum(q.values()), 1.0)
    assert q[SubscriptionTier.premium] >= FLOOR_SHARE / (1 + 2 * FLOOR_SHARE)  # raised to the floor
    assert q[SubscriptionTier.basic] > q[SubscriptionTier.pro] == q[SubscriptionTier.premium]  # both floored
    assert quotas({SubscriptionTier.pro: 3}) == {SubscriptionTier.pro: 1.0}
    assert quotas({}) == {}


def test_inside_a_tier_nearer_and_better_rated_come_first() -> None:
    near = Candidate("a" * 24, SubscriptionTier.basic, 1.0)
    far = Candidate("b" * 24, SubscriptionTier.basic, 9.0)
    far_but_loved = Candidate("c" * 24, SubscriptionTier.basic, 3.0, rating_count=40, rating_sum=200)
    assert [c.provider_id[0] for c in rank([far, near, far_but_loved], "x")] == ["c", "a", "b"]


def test_ties_rotate_over_days_and_not_within_one() -> None:
    tied = [Candidate(f"{i:024x}", SubscriptionTier.pro, 2.0) for i in range(4)]
    days = [f"2026-12-{d:02d}|" for d in range(1, 31)]
    firsts = Counter(rank(tied, day)[0].provider_id for day in days)
    assert len(firsts) == 4  # every tied provider leads on some day
    assert max(firsts.values()) <= 15
    assert all(rank(tied, days[0]) == rank(list(reversed(tied)), days[0]) for _ in range(3))


def test_a_tier_with_a_tenth_of_the_matches_still_reaches_the_top() -> None:
    found = [Candidate(f"{i:024x}", SubscriptionTier.basic, 0.1 * i) for i in range(90)]
    found += [Candidate(f"{100 + i:024x}", SubscriptionTier.premium, 0.1 * i) for i in range(10)]
    top10 = Counter(c.tier for c in rank(found, "d")[:10])
    assert top10[SubscriptionTier.premium] >= 1 and top10[SubscriptionTier.basic] >= 7
