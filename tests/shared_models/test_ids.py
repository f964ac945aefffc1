"""Cursor keys as the API's regex engine (pydantic-core's, as FastAPI's `Query(pattern=...)` uses it) reads
them: every key `sortable_key` writes passes, and nothing else that looks like one."""

from datetime import UTC, datetime, timedelta
from typing import Annotated

import pytest
from bson import ObjectId
from pydantic import StringConstraints, TypeAdapter, ValidationError

from shared_models.ids import SORTABLE_KEY_PATTERN, sortable_key

CURSOR = TypeAdapter(Annotated[str, StringConstraints(pattern=SORTABLE_KEY_PATTERN)])
OID = "6650f0c2a1b2c3d4e5f60718"


def in_digits(key: str, zero: str) -> str:
    """The key with its time's digits written in another script (the id's hex stays ASCII)."""
    time, _, oid = key.partition("-")
    return time.translate({ord("0") + d: ord(zero) + d for d in range(10)}) + "-" + oid


def test_every_key_we_write_is_a_cursor() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for step in range(0, 366 * 24, 7):  # every month, day and hour of a year
        at = start + timedelta(hours=step, minutes=step % 60, seconds=step % 60, microseconds=step)
        key = sortable_key(at, ObjectId())
        assert CURSOR.validate_python(key) == key


@pytest.mark.parametrize(
    "key",
    [
        in_digits(f"20260101T120000.000000-{OID}", "\u0660"),  # Arabic-Indic digits: `\d` took them
        in_digits(f"20260101T120000.000000-{OID}", "\uff10"),  # full-width digits
        f"99999999T999999.999999-{OID}",  # no such month, day or time
        f"20261301T120000.000000-{OID}",
        f"20260132T120000.000000-{OID}",
        f"20260101T240000.000000-{OID}",
        f"20260101T126000.000000-{OID}",
        f"20260101T120060.000000-{OID}",
        f"20260101T120000.000000-{OID.upper()}",
        f"20260101T120000.000000-{OID}\n",
    ],
)
def test_look_alikes_are_refused(key: str) -> None:
    with pytest.raises(ValidationError):
        CURSOR.validate_python(key)
