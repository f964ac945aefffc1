"""Text people write for others to read is never blank (`shared_models.text.Written`), on every request body
of the platform: a test of the kind, walking every route's body model, and the rule itself."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from shared_models.text import empty_or_not_blank, is_blank, not_blank
from tests.factories import API, make_admin, register
from tests.platform_api.bookings.helpers import request_payload
from tests.routes import api_routes

# Strings in request bodies that are not prose: secrets, tokens, addresses, names of files and types, codes.
NOT_PROSE = {"password", "token", "email", "filename", "content_type", "currency", "accepted_terms_version",
             "accepted_privacy_version", "tier", "price_id", "clientId"}  # fmt: skip


def body_models(app: FastAPI) -> set[type[BaseModel]]:
    found: set[type[BaseModel]] = set()

    def walk(model: type[BaseModel]) -> None:
        if model in found:
            return
        found.add(model)
        for field in model.model_fields.values():
            for inner in (field.annotation, *getattr(field.annotation, "__args__", ())):
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    walk(inner)

    for _, route in api_routes(app):
        for param in route.dependant.body_params:
            annotation = param.field_info.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                walk(annotation)
    assert found, "no request body found: the route walk is broken"
    return found


def test_every_prose_field_of_every_request_body_refuses_blank_text(platform_app: FastAPI) -> None:
    prose: list[str] = []
    for model in body_models(platform_app):
        for name, field in model.model_fields.items():
            if name in NOT_PROSE or not (
                field.annotation is str or str in getattr(field.annotation, "__args__", ())
            ):
                continue
            if any(getattr(m, "pattern", None) for m in field.metadata):
                continue  # a code with a grammar of its own
            inner = [getattr(a, "__metadata__", ()) for a in getattr(field.annotation, "__args__", ())]
            rules = {getattr(m, "func", None) for m in (*field.metadata, *sum(inner, ()))}
            checked = bool(rules & {not_blank, empty_or_not_blank})
            assert checked, f"{model.__name__}.{name} takes free text but not through Written"
            prose.append(f"{model.__name__}.{name}")
    assert len(prose) >= 10, prose  # names, descriptions, addresses, statements, notes, reasons, reviews


@pytest.mark.parametrize(
    "text",
    [
        "     ",
        "\t\n  \r",
        "\u00a0\u3000\u2028\u2029",
        "\u200b\u200b\u200b\u200b\u200b",
        "\ufeff   \u2060",
        "\u3164" * 6,  # Hangul filler: a letter with an empty glyph
        "\u2800" * 6,  # the blank Braille pattern
        "\u115f\u1160\uffa0",
        "\u034f\ufe0f\u034f\ufe0f\u034f",  # combining grapheme joiner, variation selector: nothing to mark
        "\U000e0020\U000e0041",  # tag characters
    ],
)
def test_blank_is_nothing_but_white_space_and_invisible_characters(text: str) -> None:
    assert is_blank(text)
    with pytest.raises(ValueError, match="must not be blank"):
        not_blank(text)


@pytest.mark.parametrize("text", ["a", "  ok  ", "\u200bx", "ب", "🙂", "\uff11"])
def test_any_visible_character_is_text(text: str) -> None:
    assert not is_blank(text) and not_blank(text) == text


async def test_a_blank_note_reason_or_name_is_the_typed_422_naming_the_field(
    api: httpx.AsyncClient, clock: Any
) -> None:
    admin = await make_admin(api, clock)
    user = await register(api)
    for url, body, field in (
        (f"{API}/admin/users/{user.id}/suspend", {"reason": "   \u200b "}, "reason"),
        (
            f"{API}/requests",
            {**request_payload(user.id, clock.now()), "description": "\u3000" * 6},
            "description",
        ),
    ):
        response = await api.post(url, json=body, headers=(admin if "admin" in url else user).bearer)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "validation_error" and error["field"] == field and "blank" in error["message"]
    renamed = await api.post(
        f"{API}/auth/register",
        json={"email": "blank-name@example.com", "password": "correct horse battery", "role": "customer",
              "display_name": "\u00a0", "accepted_terms_version": "x", "accepted_privacy_version": "x"},
    )  # fmt: skip
    assert renamed.status_code == 422 and renamed.json()["error"]["field"] == "display_name", renamed.text
