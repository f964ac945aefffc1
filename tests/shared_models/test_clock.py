"""Every moment comes out of the shared clock as the database stores it: UTC, whole milliseconds."""

import ast
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from shared_models.clock import ManualClock, StoredDatetime, SystemClock, from_timestamp, to_millis

ROOT = Path(__file__).resolve().parents[2]
MOMENT = datetime(2026, 12, 1, 9, 0, 0, 123456, tzinfo=UTC)
CUT = datetime(2026, 12, 1, 9, 0, 0, 123000, tzinfo=UTC)


def test_to_millis_cuts_to_whole_milliseconds_in_utc() -> None:
    assert to_millis(MOMENT) == CUT
    assert to_millis(CUT) == CUT
    assert to_millis(MOMENT.replace(microsecond=999999)).microsecond == 999000  # cut, never rounded up
    local = to_millis(MOMENT.astimezone(timezone(timedelta(hours=1))))
    assert local == CUT and local.utcoffset() == timedelta(0) and local.hour == 9
    naive = to_millis(MOMENT.replace(tzinfo=None))
    assert naive.tzinfo is None and naive.microsecond == 123000  # left for a validator to refuse


def test_from_timestamp_is_a_stored_moment() -> None:
    assert from_timestamp(MOMENT.timestamp()) == CUT
    assert from_timestamp(1_764_579_600) == datetime(2025, 12, 1, 9, 0, tzinfo=UTC)


def test_the_system_clock_reads_whole_milliseconds_in_utc() -> None:
    for _ in range(50):
        now = SystemClock().now()
        assert now.microsecond % 1000 == 0 and now.utcoffset() == timedelta(0)


def test_a_manual_clock_reads_whole_milliseconds_however_it_was_moved() -> None:
    clock = ManualClock(MOMENT)
    assert clock.now() == CUT
    clock.advance(timedelta(microseconds=1500))  # .1245: time passes in full, reads are cut
    assert clock.now() == CUT + timedelta(milliseconds=1)
    clock.advance(timedelta(microseconds=1500))  # .126
    assert clock.now() == CUT + timedelta(milliseconds=3)
    clock.set(MOMENT + timedelta(days=1))
    assert clock.now() == CUT + timedelta(days=1)
    assert ManualClock().now().microsecond % 1000 == 0


@pytest.mark.parametrize(
    ("sent", "held"),
    [
        ("2026-12-01T09:00:00.123456Z", "2026-12-01T09:00:00.123000Z"),
        ("2026-12-01T10:00:00.123999+01:00", "2026-12-01T09:00:00.123000Z"),
        ("2026-12-01T09:00:00Z", "2026-12-01T09:00:00Z"),
    ],
)
def test_a_client_supplied_datetime_is_held_as_stored(sent: str, held: str) -> None:
    adapter = TypeAdapter(StoredDatetime)
    assert adapter.dump_python(adapter.validate_python(sent), mode="json") == held


# Moments are made by the shared clock (or parsed through it), never read from the wall or built from a
# timestamp on the side: one call anywhere else would bring microseconds back.
MAKERS = {"now", "utcnow", "today", "fromtimestamp", "utcfromtimestamp"}


def test_only_the_shared_clock_makes_moments() -> None:
    offenders = []
    for package in ("platform_api", "chat_server", "shared_models", "scripts"):
        for path in (ROOT / package).rglob("*.py"):
            if path == ROOT / "shared_models" / "clock.py":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if (
                    isinstance(node, ast.Attribute)
                    and node.attr in MAKERS
                    and isinstance(node.value, ast.Name)
                    and node.value.id in {"datetime", "date"}
                ):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value.id}.{node.attr}")
    assert offenders == []
