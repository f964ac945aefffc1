"""PROTOCOL.md, the catalogue in code and the registered handlers must agree exactly."""

import re
from datetime import UTC, datetime
from pathlib import Path

import httpx

from chat_server.app import create_app
from chat_server.config import ChatSettings
from chat_server.events.messages import message_new
from chat_server.protocol import (
    ACK_ERRORS,
    CLIENT_EVENTS,
    SERVER_EVENTS,
    EventFailed,
    MessageNew,
    TooManyEvents,
    Unavailable,
    error,
)
from shared_models.services.conversations import ChatError, Members, Outgoing

DOC = (Path(__file__).resolve().parents[2] / "chat_server" / "PROTOCOL.md").read_text()


def section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", DOC, flags=re.M | re.S)
    assert match, f"PROTOCOL.md has no section {title!r}"
    return match.group(1)


def documented_events(title: str) -> set[str]:
    return set(re.findall(r"^### `([^`]+)`", section(title), flags=re.M))


def test_exactly_ten_events() -> None:
    assert len(CLIENT_EVENTS) + len(SERVER_EVENTS) == 10


def test_documented_events_match_the_catalogue() -> None:
    assert documented_events("Client → server events") == set(CLIENT_EVENTS)
    assert documented_events("Server → client events") == set(SERVER_EVENTS)


def test_documented_error_codes_match_the_catalogue() -> None:
    codes = set(re.findall(r"^\| `([a-z_]+)` \|", section("Ack error codes"), flags=re.M))
    assert codes == set(ACK_ERRORS)


def _subclasses(cls: type) -> set[type]:
    return {sub for direct in cls.__subclasses__() for sub in (direct, *_subclasses(direct))}


def test_every_ack_error_code_is_a_class_of_the_one_hierarchy() -> None:
    """Each code an ack carries is a chat refusal's (`ChatError`, an `AppError`), never a bare string."""
    assert {cls.code for cls in _subclasses(ChatError)} == set(ACK_ERRORS)


def test_the_refusals_answered_without_a_message_of_their_own_say_what_the_catalogue_says() -> None:
    for failure in (TooManyEvents, Unavailable, EventFailed):
        ack = error(failure)
        assert ack == {"ok": False, "error": {"code": failure.code, "message": ACK_ERRORS[failure.code]}}


def test_documented_payload_fields_match_the_schemas() -> None:
    for title, catalogue in (
        ("Client → server events", CLIENT_EVENTS),
        ("Server → client events", SERVER_EVENTS),
    ):
        body = section(title)
        for event, model in catalogue.items():
            text = re.search(rf"^### `{re.escape(event)}`\n(.*?)(?=^### |\Z)", body, flags=re.M | re.S)
            assert text, event
            braces = re.search(r"\{([^}]*)\}", text.group(1))
            assert braces, f"{event}: no payload shape documented"
            documented = {f.strip().rstrip("?") for f in braces.group(1).split(",")}
            assert documented == set(model.model_fields), (event, documented, set(model.model_fields))


def test_the_server_registers_exactly_the_client_events_and_answers_any_other() -> None:
    app = create_app(ChatSettings(_env_file=None))  # type: ignore[call-arg]
    handlers = set(app.sio.handlers["/"]) - {"connect", "disconnect"}
    assert handlers == {*CLIENT_EVENTS, "*"}  # "*": every other event name gets its `unknown_event` ack


async def test_the_hot_path_builds_message_new_exactly_as_the_schema_does(api: httpx.AsyncClient) -> None:
    """`message:new` is built without a model on the hot path: it must be what the schema makes of it
    (`api`: the documents are initialised, for the stored-message variant)."""
    members = Members("a" * 24, "b" * 24, "c" * 24)
    moment = datetime(2026, 11, 30, 14, 3, 10, 78_000, tzinfo=UTC)
    out = Outgoing(members, "b" * 24, "hello", ["d" * 24], "client-1", moment, seq=7)
    for source in (out, out.message()):
        built = message_new(source)
        assert built == MessageNew.model_validate(built).model_dump(mode="json")
        assert built["createdAt"] == "2026-11-30T14:03:10.078000Z" and built["cursor"] == "7"
