"""The one source of time for both services, so tests can move it instead of sleeping.

Every moment is cut to whole milliseconds where it is made or where it enters from outside: MongoDB (and
the engine) store milliseconds, so a response built from a document still in memory must already hold what
a later read returns.
"""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Protocol

from pydantic import AfterValidator, TypeAdapter


def to_millis(moment: datetime) -> datetime:
    """`moment` as the database stores it: whole milliseconds, in UTC when it has an offset (a naive one
    stays naive, so a validator can still refuse it)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond - moment.microsecond % 1000)


def from_timestamp(seconds: float) -> datetime:
    """A Unix time (a token's, Stripe's) as a stored moment."""
    return to_millis(datetime.fromtimestamp(seconds, UTC))


# A datetime a client sends (a booking window): held from parsing on exactly as it will be stored.
StoredDatetime = Annotated[datetime, AfterValidator(to_millis)]


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
