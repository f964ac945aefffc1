"""The one source of time for both services, so tests can move it instead of sleeping.

Every moment is cut to whole milliseconds where it is made or where it enters from outside: MongoDB (and
the engine) store milliseconds, so a response built from a document still in memory must already hold what
a later read returns.
"""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Protocol

from pydantic import AfterValidator, AwareDatetime, TypeAdapter


def to_millis(moment: datetime) -> datetime:
    """`moment` as the database stores it: whole milliseconds, in UTC when it has an offset (a naive one
    stays naive, so a validator can still refuse it)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond - moment.microsecond % 1000)


def from_timestamp(seconds: float) -> datetime:
    """A Unix time (a token's, Stripe's) as a stored moment."""
    return to_millis(datetime.fromtimestamp(seconds, UTC))


EARLIEST_YEAR = 1000  # from here on `time_key` is fixed-width (strftime does not pad %Y below 1000)


def client_moment(moment: datetime) -> datetime:
    """A moment a client sends, as it will be stored (`to_millis`). ValueError, which pydantic answers as a
    422, outside the years 1000 to 9999 in UTC: Python's datetime ends at 9999, and an offset can carry a
    moment past either end (0001-01-01T00:00+01:00 is in year 0), which raised OverflowError (a 500)."""
    try:
        stored = to_millis(moment)
    except OverflowError:
        stored = None
    if stored is None or stored.year < EARLIEST_YEAR:
        raise ValueError(f"the moment must lie between the years {EARLIEST_YEAR} and 9999 in UTC")
    return stored


# A datetime a client sends (a booking window): held from parsing on exactly as it will be stored.
StoredDatetime = Annotated[datetime, AfterValidator(client_moment)]
# The same, with its offset required (a query parameter: since, until, opened_before).
ClientMoment = Annotated[AwareDatetime, AfterValidator(client_moment)]


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return to_millis(datetime.now(UTC))


class ManualClock:
    """A clock that only moves when told to; used by tests and by demo seeding. It reads like the system
    clock, in whole milliseconds, however it was set or advanced."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)

    def now(self) -> datetime:
        return to_millis(self._now)

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, moment: datetime) -> None:
        self._now = moment


_JSON_TIME = TypeAdapter(datetime)


def json_time(moment: datetime) -> str:
    """A moment as JSON text, exactly as pydantic writes it in every API response (hot paths that build
    payloads without a model use this, so a socket event and REST agree to the character)."""
    text: str = _JSON_TIME.dump_python(moment, mode="json")
    return text
