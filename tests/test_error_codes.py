"""Errors are named by failure: one class per client-visible code, and every route declares (and the OpenAPI
document lists) each code it can answer — checked against the failures its endpoint and dependencies reach
in the source (tests/error_codes.py says how calls are followed)."""

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from platform_api.config import Settings
from platform_api.deps import SAFE_METHODS
from platform_api.errors import EVERY_OPERATION, CsrfFailed, declared_codes
from platform_api.main import create_app
from platform_api.providers.errors import ProviderNotFound
from tests.document_types import python_files
from tests.error_codes import (
    ROOT,
    Reach,
    error_classes,
    hand_written_codes,
    import_all,
    legacy_raises,
    misgrouped,
    relpath,
    shared_codes,
)
from tests.routes import api_routes

# Files allowed to name failures the old way (a status class raised with `code="…"`, a class with a
# `default_code`): none. The base class no longer takes a code; the table stays for the check's signature.
LEGACY: dict[str, str] = {}
PACKAGES = ("platform_api", "shared_models", "chat_server", "scripts")
STRIPE_STAND_IN = "scripts/stripe_fake/"
# What every route answers without declaring it (a lost database): declared and reachable everywhere.
EVERYWHERE = {(failure.status_code, failure.code) for failure in EVERY_OPERATION}


@pytest.fixture(scope="module")
def app() -> FastAPI:
    import_all()
    return create_app(Settings())


def _declared(route: APIRoute) -> set[tuple[int, str]]:
    return {
        (int(status), code)
        for status, response in route.responses.items()
        for code in declared_codes(response)
    }


def _reached(reach: Reach, route: APIRoute) -> set[tuple[int, str]]:
    answers = {failure.answer for failure in reach.route(route)}
    if route.methods <= SAFE_METHODS:  # `get_auth_session` checks the CSRF header on writes only
        answers.discard((CsrfFailed.status_code, CsrfFailed.code))
    return answers


def _mismatches(routes: Iterator[tuple[str, APIRoute]]) -> list[str]:
    reach = Reach()
    found = []
    for path, route in routes:
        where = (
            f"{'/'.join(sorted(route.methods))} {path} ({relpath(route.endpoint)} {route.endpoint.__name__})"
        )
        declared, reached = _declared(route) | EVERYWHERE, _reached(reach, route) | EVERYWHERE
        if missing := sorted(reached - declared):
            found.append(f"{where} can answer {missing} but does not declare them")
        if stale := sorted(declared - reached):
            found.append(f"{where} declares {stale}, which nothing it calls raises")
    return found


def test_every_route_declares_exactly_the_codes_it_can_answer(app: FastAPI) -> None:
    assert _mismatches(api_routes(app)) == []


def test_no_failure_is_named_by_a_code_string_or_a_bare_status() -> None:
    assert legacy_raises(ROOT, PACKAGES, LEGACY) == []


def _our_classes() -> list[type]:
    import_all()
    return [
        c for c in error_classes() if relpath(c) not in LEGACY and not c.__module__.startswith("_snippet")
    ]


def test_each_code_is_one_class() -> None:
    assert shared_codes(_our_classes()) == {}


def test_each_failure_is_grouped_by_its_status() -> None:
    assert misgrouped(_our_classes()) == []


def test_no_code_is_written_by_hand() -> None:
    """Acks, JSON error bodies and refused connections are built from a failure's class, never a string.
    The Stripe stand-in is the exception: it answers with Stripe's own error codes, as Stripe's API does."""
    stand_in = [rel for rel, _ in python_files(ROOT, ("scripts",)) if rel.startswith(STRIPE_STAND_IN)]
    assert stand_in
    assert hand_written_codes(ROOT, PACKAGES, allowed=stand_in) == []


def test_the_openapi_document_lists_each_declared_code(app: FastAPI) -> None:
    spec = app.openapi()
    for path, route in api_routes(app):
        if not route.include_in_schema:
            continue
        for method in route.methods:
            responses = spec["paths"][path][method.lower()]["responses"]
            for status, code in _declared(route):
                response = responses[str(status)]
                assert code in declared_codes(response), (method, path, status, code)
                assert f"`{code}`" in response["description"], (method, path, status, code)
                assert response["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
            if route.dependant.query_params or route.dependant.path_params or route.body_field:
                assert "validation_error" in declared_codes(responses["422"]), (method, path)


# Operations whose answer of that status is their own body, not a failure: the readiness report.
OWN_ANSWERS = {("get", "/readyz", 503)}


def test_every_operation_lists_the_failures_any_route_can_answer(app: FastAPI) -> None:
    """A lost database answers `database_unavailable` on any route: the document says so on each, though no
    route declares it."""
    for path, item in app.openapi()["paths"].items():
        for method, operation in item.items():
            for failure in EVERY_OPERATION:
                if (method, path, failure.status_code) in OWN_ANSWERS:
                    continue
                response = operation["responses"][str(failure.status_code)]
                assert response["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
                assert failure.code in declared_codes(response), (method, path)
                assert f"`{failure.code}`" in response["description"], (method, path)


# The checks can fail: snippets with what they must catch.


def _load(tmp_path: Path, name: str, source: str) -> object:
    target = tmp_path / f"{name}.py"
    target.write_text(source)
    spec = importlib.util.spec_from_file_location(f"_snippet_{name}", target)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _snippet_mismatches(tmp_path: Path, name: str, source: str) -> list[str]:
    router = _load(tmp_path, name, source).router  # type: ignore[attr-defined]
    return _mismatches((route.path, route) for route in router.routes if isinstance(route, APIRoute))


HEADER = """
from fastapi import APIRouter
from platform_api.bookings.errors import RequestNotFound
from platform_api.bookings.service import booking_service, SYSTEM
from platform_api.errors import errors
from shared_models.enums import RequestEvent
router = APIRouter()
"""


def test_an_undeclared_raise_in_the_endpoint_is_caught(tmp_path: Path) -> None:
    source = HEADER + (
        "@router.get('/x', responses=errors())\nasync def x() -> None:\n    raise RequestNotFound()\n"
    )
    (found,) = _snippet_mismatches(tmp_path, "direct", source)
    assert found.endswith("can answer [(404, 'request_not_found')] but does not declare them")


def test_an_undeclared_raise_two_calls_deep_in_a_service_is_caught(tmp_path: Path) -> None:
    """`perform` → `transition` → `_check_deadline` raises `deadline_passed`; `_invalid` makes the illegal
    transition's error: none of them is declared here."""
    source = HEADER + (
        "@router.post('/x', responses=errors(RequestNotFound))\n"
        "async def x(request_id: str) -> None:\n"
        "    await booking_service.perform(request_id, RequestEvent.accept, SYSTEM, None)\n"
    )
    (found,) = _snippet_mismatches(tmp_path, "deep", source)
    for code in (
        "deadline_passed",
        "invalid_transition",
        "not_due",
        "reason_required",
        "subscription_required",
    ):
        assert code in found


def test_a_lost_database_is_answered_by_every_route_without_declaring_it(tmp_path: Path) -> None:
    source = HEADER + (
        "from platform_api.errors import DatabaseUnavailable\n"
        "@router.get('/x', responses=errors())\nasync def x() -> None:\n    raise DatabaseUnavailable()\n"
        "@router.get('/y', responses=errors(DatabaseUnavailable))\nasync def y() -> None:\n    pass\n"
        "@router.get('/z', responses=errors())\nasync def z() -> None:\n    pass\n"
    )
    assert _snippet_mismatches(tmp_path, "everywhere", source) == []


def test_a_failure_caught_on_the_way_is_not_answered_and_a_stale_declaration_is_caught(
    tmp_path: Path,
) -> None:
    source = HEADER + (
        "@router.get('/x', responses=errors(RequestNotFound))\nasync def x() -> None:\n"
        "    try:\n        raise RequestNotFound()\n    except RequestNotFound:\n        pass\n"
    )
    (found,) = _snippet_mismatches(tmp_path, "caught", source)
    assert "declares [(404, 'request_not_found')], which nothing it calls raises" in found


@pytest.mark.parametrize(
    "source",
    [
        "from platform_api.errors import Conflict\ndef f():\n    raise Conflict('Taken.', code='taken')\n",
        "from platform_api.errors import NotFound\ndef f():\n    raise NotFound('No such thing.')\n",
        "from platform_api import errors\ndef f():\n    return errors.Unprocessable('Bad.')\n",
        "from platform_api.errors import Conflict\nclass Taken(Conflict):\n    default_code = 'taken'\n",
    ],
)
def test_the_old_forms_are_caught(tmp_path: Path, source: str) -> None:
    target = tmp_path / "platform_api" / "sneaky.py"
    target.parent.mkdir(parents=True)
    target.write_text(source)
    assert len(legacy_raises(tmp_path, ("platform_api",))) >= 1
    assert legacy_raises(tmp_path, ("platform_api",), ["platform_api/sneaky.py"]) == []


def test_two_classes_with_one_code_are_caught(tmp_path: Path) -> None:
    module = _load(
        tmp_path,
        "twins",
        "from platform_api.errors import Conflict\n"
        "class Taken(Conflict):\n    code = 'email_taken'\n"
        "class AlsoTaken(Conflict):\n    code = 'email_taken'\n",
    )
    classes = [module.Taken, module.AlsoTaken]  # type: ignore[attr-defined]
    assert shared_codes(classes) == {"email_taken": ["_snippet_twins.Taken", "_snippet_twins.AlsoTaken"]}


def test_a_failure_answered_with_another_status_is_a_variant_of_that_status(tmp_path: Path) -> None:
    """The same failure with another status: a class of that status, naming the one it is a variant of.
    A subclass that only changes the status is caught (an `except NotFound:` would catch a 422), and so is
    a class that shares a code without naming it, or with the same status."""
    module = _load(
        tmp_path,
        "variants",
        "from platform_api.errors import Conflict, Unprocessable\n"
        "from platform_api.providers.errors import ProviderNotFound\n"
        "class NamedInBody(ProviderNotFound):\n    status_code = 422\n"
        "class Unnamed(Unprocessable):\n    code = ProviderNotFound.code\n"
        "class SameStatus(ProviderNotFound.__base__):\n"
        "    variant_of = ProviderNotFound\n    code = ProviderNotFound.code\n"
        "class Variant(Unprocessable):\n    variant_of = ProviderNotFound\n    code = ProviderNotFound.code\n"
        "class Refined(ProviderNotFound):\n    message = 'No such provider here.'\n",
    )
    named_in_body, unnamed, same_status, variant, refined = (
        getattr(module, name) for name in ("NamedInBody", "Unnamed", "SameStatus", "Variant", "Refined")
    )
    for wrong in (named_in_body, unnamed, same_status):
        assert shared_codes([ProviderNotFound, wrong]) == {
            "provider_not_found": [
                "platform_api.providers.errors.ProviderNotFound",
                f"_snippet_variants.{wrong.__name__}",
            ]
        }
    assert misgrouped([named_in_body]) == ["_snippet_variants.NamedInBody answers 422 but is a NotFound"]
    assert shared_codes([ProviderNotFound, variant, refined]) == {}
    assert misgrouped([variant, refined]) == []


@pytest.mark.parametrize(
    "source",
    [
        "from chat_server.protocol import error\ndef f():\n    return error('rate_limited')\n",
        "from chat_server import protocol\ndef f():\n    return protocol.error('unknown_event', 'No.')\n",
        "from platform_api.errors import _body\ndef f():\n    return _body('cors_rejected', 'No.')\n",
        "def f():\n    return {'error': {'code': 'payload_too_large', 'message': 'Too big.'}}\n",
        "def f():\n    return {'ok': False, 'error': {'code': 'blocked'}}\n",
        "import socketio\ndef f():\n"
        "    raise socketio.exceptions.ConnectionRefusedError('not_authenticated', {'code': 'not_authenticated'})\n",
    ],
)
def test_a_code_written_by_hand_is_caught(tmp_path: Path, source: str) -> None:
    target = tmp_path / "chat_server" / "sneaky.py"
    target.parent.mkdir(parents=True)
    target.write_text(source)
    assert len(hand_written_codes(tmp_path, ("chat_server",))) >= 1
    assert hand_written_codes(tmp_path, ("chat_server",), ["chat_server/sneaky.py"]) == []


def test_a_body_built_from_a_class_is_not_caught(tmp_path: Path) -> None:
    target = tmp_path / "chat_server" / "fine.py"
    target.parent.mkdir(parents=True)
    target.write_text(
        "from chat_server.protocol import TooManyEvents, error\n"
        "def f(log, exc):\n"
        "    log.error('socket.event_failed', code='internal_error')\n"
        "    body = {'error': {'code': exc.code, 'message': exc.message}}\n"
        "    return error(TooManyEvents), error(exc, 'Slow down.'), body\n"
    )
    assert hand_written_codes(tmp_path, ("chat_server",)) == []
