"""Collapse under concurrency: however many deliveries race on one collapse key (in one process, or through
two database clients in two processes), one open notification absorbs them, each source counted once, and
the email window lets one email out per window."""

import asyncio
import json
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from platform_api.errors import Conflict
from platform_api.notifications.service import notification_service
from shared_models.clock import ManualClock
from shared_models.documents import EmailMessage, EmailWindow, Notification
from shared_models.enums import Role
from shared_models.ids import time_key
from shared_models.notifications import CATALOGUE
from shared_models.services.notifications import SOURCES_KEPT, Outcome, Presence, notify, notify_many
from shared_models.store import claim_window
from tests.conftest import Engine
from tests.factories import Account, register

K = 20
OFFLINE = Presence(online=False, engaged=False)
ELSEWHERE = Presence(online=True, engaged=False)
MESSAGE = CATALOGUE["new_message"]
CONVERSATION = "c" * 24
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
async def user(api: httpx.AsyncClient) -> Account:
    return await register(api, Role.customer)


def payload(user: Account, source: str, conversation: str = CONVERSATION) -> dict[str, str]:
    return {
        "conversation_id": conversation,
        "sender_id": "s" * 24,
        "recipient_id": user.id,
        "preview": f"about {source}",
    }


async def burst(
    user: Account,
    sources: Sequence[str],
    presence: Presence,
    now: datetime,
    conversation: str = CONVERSATION,
) -> list[Outcome]:
    """Every source delivered at once (one task each)."""
    return list(
        await asyncio.gather(
            *(notify(MESSAGE, user.id, s, payload(user, s, conversation), presence, now) for s in sources)
        )
    )


async def notifications_of(user: Account) -> list[Notification]:
    return await Notification.find({"recipient_id": user.id}).sort("created_at").to_list()


async def emails_to(user: Account) -> int:
    return await EmailMessage.find(
        EmailMessage.to == user.email, EmailMessage.template == "notification"
    ).count()


def counted_once_each(outcomes: Sequence[Outcome], stored: Notification) -> None:
    """Every outcome names the one notification, and each changed it once: the counts the callers saw are
    1..n, each exactly once (a lost or doubled compare-and-set shows up as a gap or a repeat)."""
    assert {o.notification.id for o in outcomes if o.notification} == {stored.id}
    seen = sorted(o.notification.occurrences for o in outcomes if o.notification)
    assert seen == list(range(1, len(outcomes) + 1))
    assert Counter(o.reason for o in outcomes) == {"stored": 1, "collapsed": len(outcomes) - 1}


async def test_twenty_concurrent_sources_for_an_offline_user_make_one_notification_and_one_email(
    user: Account, clock: ManualClock
) -> None:
    sources = [f"message:{n}" for n in range(K)]
    outcomes = await burst(user, sources, OFFLINE, clock.now())
    stored = await notifications_of(user)
    assert [n.occurrences for n in stored] == [K]
    assert sorted(stored[0].source_ids) == sorted(sources)
    assert stored[0].open_key == f"new_message:{user.id}:{CONVERSATION}"
    counted_once_each(outcomes, stored[0])
    assert [o.emailed for o in outcomes].count(True) == 1
    assert await emails_to(user) == 1


async def test_twenty_concurrent_sources_for_a_user_online_elsewhere_make_one_pushed_notification(
    user: Account, clock: ManualClock
) -> None:
    sources = [f"message:{n}" for n in range(K)]
    outcomes = await burst(user, sources, ELSEWHERE, clock.now())
    stored = await notifications_of(user)
    assert [n.occurrences for n in stored] == [K]
    assert sorted(stored[0].source_ids) == sorted(sources)
    counted_once_each(outcomes, stored[0])
    # Each change is pushed once (one delivery id per version), and nobody is emailed: they are online.
    assert all(o.realtime and not o.emailed for o in outcomes)
    assert len({o.delivery_id for o in outcomes}) == K
    assert await emails_to(user) == 0


async def test_two_database_clients_in_two_processes_at_once_make_one_notification_and_one_email(
    user: Account, clock: ManualClock, engine: Engine, db_name: str
) -> None:
    here = [f"here:{n}" for n in range(K // 2)]
    there = [f"there:{n}" for n in range(K // 2)]
    job = {
        "recipient": user.id,
        "now": clock.now().isoformat(),
        "online": False,
        "calls": [[s, payload(user, s)] for s in there],
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.platform_api.notifications.second_client",
        engine.uri,
        db_name,
        json.dumps(job),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        assert await asyncio.wait_for(proc.stdout.readline(), 60) == b"ready\n"
        # The other process starts its burst on "go", this one at the same moment.
        (out, _), local = await asyncio.gather(
            asyncio.wait_for(proc.communicate(b"go\n"), 60), burst(user, here, OFFLINE, clock.now())
        )
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0
    (line,) = [x for x in out.decode().splitlines() if x.startswith("result ")]
    remote: list[dict[str, Any]] = json.loads(line.removeprefix("result "))
    stored = await notifications_of(user)
    assert [n.occurrences for n in stored] == [K]
    assert sorted(stored[0].source_ids) == sorted(here + there)
    seen = sorted(
        [o.notification.occurrences for o in local if o.notification] + [r["occurrences"] for r in remote]
    )
    assert seen == list(range(1, K + 1))
    assert [o.emailed for o in local].count(True) + [r["emailed"] for r in remote].count(True) == 1
    assert await emails_to(user) == 1


async def test_after_a_read_the_next_burst_opens_exactly_one_new_notification(
    user: Account, clock: ManualClock
) -> None:
    await burst(user, [f"first:{n}" for n in range(10)], OFFLINE, clock.now())
    (opened,) = await notifications_of(user)
    await notification_service.mark_read(opened, clock.now())
    clock.advance(timedelta(seconds=1))  # still inside the dedup window; orders the two by creation
    second = [f"second:{n}" for n in range(10)]
    outcomes = await burst(user, second, OFFLINE, clock.now())
    old, new = await notifications_of(user)
    assert old.id == opened.id and old.read and old.occurrences == 10 and old.open_key is None
    assert not new.read and new.occurrences == 10 and sorted(new.source_ids) == sorted(second)
    assert new.open_key == opened.collapse_key
    counted_once_each(outcomes, new)
    assert await emails_to(user) == 1  # still inside the first burst's email window


async def test_a_read_racing_a_burst_loses_no_source_and_counts_none_twice(
    user: Account, clock: ManualClock
) -> None:
    first = await notify(MESSAGE, user.id, "message:0", payload(user, "0"), OFFLINE, clock.now())
    assert first.notification is not None
    opened = first.notification

    async def read() -> None:
        current: Notification | None = opened
        for _ in range(50):  # a read that loses to every fold of the burst is a 409; a client retries it
            assert current is not None
            try:
                await notification_service.mark_read(current, clock.now())
                return
            except Conflict:
                current = await Notification.get(opened.id)
        raise AssertionError("the read never got through")

    sources = [f"message:{n}" for n in range(1, K)]
    clock.advance(timedelta(seconds=1))  # still inside the dedup window; orders the two by creation
    await asyncio.gather(burst(user, sources, OFFLINE, clock.now()), read())
    stored = await notifications_of(user)
    assert stored[0].id == opened.id and stored[0].read and stored[0].open_key is None
    assert sorted(s for n in stored for s in n.source_ids) == sorted(["message:0", *sources])
    assert sum(n.occurrences for n in stored) == K
    # The sources that came after the read went into one new notification, the only open one.
    assert len(stored) <= 2 and all(not n.read and n.open_key for n in stored[1:])


async def test_the_same_source_delivered_ten_times_at_once_counts_once(
    user: Account, clock: ManualClock
) -> None:
    outcomes = await burst(user, ["message:same"] * 10, OFFLINE, clock.now())
    stored = await notifications_of(user)
    assert [(n.occurrences, n.source_ids) for n in stored] == [(1, ["message:same"])]
    assert Counter(o.reason for o in outcomes) == {"stored": 1, "duplicate": 9}
    assert [o.emailed for o in outcomes].count(True) == 1

    # Retries mixed into a burst: 5 sources, each delivered 4 times, all at once.
    other = "d" * 24
    mixed = [f"retried:{n % 5}" for n in range(20)]
    outcomes = await burst(user, mixed, OFFLINE, clock.now(), other)
    (collapsed,) = [n for n in await notifications_of(user) if n.data["conversation_id"] == other]
    assert collapsed.occurrences == 5 and sorted(collapsed.source_ids) == sorted(set(mixed))
    assert Counter(o.reason for o in outcomes) == {"stored": 1, "collapsed": 4, "duplicate": 15}
    assert await emails_to(user) == 2  # one per conversation (collapse key)


async def test_one_email_per_email_window_across_bursts(user: Account, clock: ManualClock) -> None:
    async def next_burst(tag: str) -> tuple[list[Outcome], list[Notification]]:
        outcomes = await burst(user, [f"{tag}:{n}" for n in range(10)], OFFLINE, clock.now())
        return outcomes, await notifications_of(user)

    outcomes, stored = await next_burst("t0")
    assert [n.occurrences for n in stored] == [10]
    assert [o.emailed for o in outcomes].count(True) == 1 and await emails_to(user) == 1

    clock.advance(MESSAGE.dedup_window)  # a new notification, but the email window still runs
    outcomes, stored = await next_burst("t1")
    assert [n.occurrences for n in stored] == [10, 10]
    counted_once_each(outcomes, stored[1])
    assert not any(o.emailed for o in outcomes) and await emails_to(user) == 1

    clock.advance(MESSAGE.email_window)  # the email window is over: the next burst mails once more
    outcomes, stored = await next_burst("t2")
    assert [n.occurrences for n in stored] == [10, 10, 10]
    counted_once_each(outcomes, stored[2])
    assert [o.emailed for o in outcomes].count(True) == 1 and await emails_to(user) == 2


async def test_the_email_window_is_claimed_by_one_of_twenty_at_once_per_window(
    platform_app: FastAPI, clock: ManualClock
) -> None:
    """The claim itself, raced directly: inside `notify` the compare-and-set on the notification mostly
    spaces the claims out, so a check-then-write claim would rarely be caught there."""

    async def twenty_claims() -> list[bool]:
        now, until = time_key(clock.now()), time_key(clock.now() + MESSAGE.email_window)
        return list(await asyncio.gather(*(claim_window(EmailWindow, "k", now, until) for _ in range(K))))

    assert (await twenty_claims()).count(True) == 1
    clock.advance(MESSAGE.email_window - timedelta(milliseconds=1))
    assert (await twenty_claims()).count(True) == 0  # the window still runs
    clock.advance(timedelta(milliseconds=1))
    assert (await twenty_claims()).count(True) == 1  # a new window, claimed once


async def test_a_source_delivered_again_after_more_than_the_kept_sources_counts_once(
    user: Account, clock: ManualClock
) -> None:
    # A notification keeps only its last SOURCES_KEPT source ids; the claims remember the rest.
    sources = [f"message:{n}" for n in range(SOURCES_KEPT + 10)]
    for start in range(0, len(sources), 15):
        chunk = sources[start : start + 15]
        await notify_many(MESSAGE, user.id, [(s, payload(user, s)) for s in chunk], OFFLINE, clock.now())
    (stored,) = await notifications_of(user)
    assert stored.occurrences == len(sources) and "message:0" not in stored.source_ids
    again = await burst(user, sources[:5], OFFLINE, clock.now())  # resends of the oldest
    assert {o.reason for o in again} == {"duplicate"}
    (after,) = await notifications_of(user)
    assert after.occurrences == len(sources) and after.version == stored.version


async def test_a_source_delivered_again_after_its_notification_was_read_makes_nothing(
    user: Account, clock: ManualClock
) -> None:
    await notify(MESSAGE, user.id, "message:0", payload(user, "0"), OFFLINE, clock.now())
    (opened,) = await notifications_of(user)
    await notification_service.mark_read(opened, clock.now())
    clock.advance(timedelta(seconds=1))
    changed = {**payload(user, "0"), "preview": "a different text"}
    again = await notify(MESSAGE, user.id, "message:0", changed, OFFLINE, clock.now())
    assert again.reason == "duplicate" and again.notification is None
    (still,) = await notifications_of(user)
    assert still.read and still.occurrences == 1 and still.body == "about 0"


async def test_batches_and_single_sources_racing_on_one_collapse_key_count_each_source_once(
    user: Account, clock: ManualClock
) -> None:
    # The chat server notifies a batch per (recipient, conversation); the relay one source at a time;
    # some sources reach both (a resend through another instance).
    batches = [[f"batch{b}:{n}" for n in range(30)] for b in range(4)]
    singles = [f"single:{n}" for n in range(10)] + [batches[0][0], batches[3][29]]
    now = clock.now()
    await asyncio.gather(
        *(notify_many(MESSAGE, user.id, [(s, payload(user, s)) for s in b], OFFLINE, now) for b in batches),
        burst(user, singles, OFFLINE, now),
    )
    (stored,) = await notifications_of(user)
    assert stored.occurrences == 4 * 30 + 10
    assert await emails_to(user) == 1
