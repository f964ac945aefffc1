"""The failures any route may answer, how a route declares the ones it can answer (`errors(...)`), and the
one place that maps every failure to a typed JSON body.

Every 4xx (and the 503 of a lost database) answers `{"error": {"code", "message", "field"?}}`. The classes
are one hierarchy with the chat server's (`shared_models.errors`); a domain's own failures are in its
`errors.py`.
"""

import copy
import re
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from pymongo.errors import ConnectionFailure
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from shared_models.errors import STATUS_CLASSES
from shared_models.errors import AppError as AppError
from shared_models.errors import BadRequest as BadRequest
from shared_models.errors import Conflict as Conflict
from shared_models.errors import Forbidden as Forbidden
from shared_models.errors import NotFound as NotFound
from shared_models.errors import ServerError as ServerError
from shared_models.errors import ServiceUnavailable as ServiceUnavailable
from shared_models.errors import TooManyRequests as TooManyRequests
from shared_models.errors import Unauthorized as Unauthorized
from shared_models.errors import Unprocessable as Unprocessable
from shared_models.runtime.ratelimit import RateLimited as RateLimited
from shared_models.services.sessions import NotAuthenticated as NotAuthenticated

log = structlog.get_logger(__name__)


class ErrorDetail(BaseModel):
    code: str = Field(examples=["invalid_credentials"])
    message: str = Field(examples=["Email or password is incorrect."])
    field: str | None = Field(default=None, examples=["email"])
    details: dict[str, Any] | None = Field(
        default=None, description="Machine-readable context, e.g. the current state and allowed events."
    )


class ErrorBody(BaseModel):
    error: ErrorDetail


class ValidationFailed(Unprocessable):
    """The request is malformed in a way its schema cannot say (two fields that exclude each other...)."""

    code = "validation_error"
    message = "The request is invalid."


class CsrfFailed(Forbidden):
    code = "csrf_failed"
    message = "Missing or wrong CSRF header for a cookie-authenticated request."


class RoleForbidden(Forbidden):
    code = "role_forbidden"
    message = "This action needs another role."


class CorsRejected(BadRequest):
    """A refused CORS preflight (origin, method or header not allowed); the message says which."""

    code = "cors_rejected"
    message = "This cross-origin request is not allowed."


class DatabaseUnavailable(ServiceUnavailable):
    code = "database_unavailable"
    message = "The database is unavailable; retry shortly."


# What any operation may answer without declaring it: a lost database (the ConnectionFailure handler answers
# every route that reads or writes it). The OpenAPI document lists these on every operation.
EVERY_OPERATION: tuple[type[AppError], ...] = (DatabaseUnavailable,)


# Failures of the compare-and-set and of the state machines, answered by several domains.
class ConcurrentUpdate(Conflict):
    code = "concurrent_update"
    message = "It changed meanwhile; reload it."


class InvalidTransition(Conflict):
    code = "invalid_transition"
    message = "This action is not allowed in the current state."


class NotDue(Conflict):
    code = "not_due"
    message = "Not due yet."


_STATUS_DESCRIPTIONS = {status.status_code: status.description for status in reversed(STATUS_CLASSES)}
_JSON = "application/json"
_ERROR_BODY = "#/components/schemas/ErrorBody"


def errors(*failures: type[AppError]) -> dict[int | str, dict[str, Any]]:
    """A route's `responses=`: the failures it can answer, by class. Each status lists its codes, in its
    description and as one example body per code (tests/test_error_codes.py checks the list against the
    raise sites the route reaches)."""
    return add_errors({}, *failures)


def add_errors(responses: dict[int | str, dict[str, Any]], *failures: type[AppError]) -> dict[int | str, Any]:
    """Add failures to a route's `responses=` (copying what it changes: entries may be shared)."""
    for failure in failures:
        entry = copy.deepcopy(responses.get(failure.status_code)) or {"model": ErrorBody}
        _list(entry, failure)
        responses[failure.status_code] = entry
    return responses


def _list(response: dict[str, Any], failure: type[AppError]) -> None:
    """List `failure` in a response (of `responses=`, or of the OpenAPI document): an example body under its
    code, and its code in the description."""
    examples: dict[str, Any] = (
        response.setdefault("content", {}).setdefault(_JSON, {}).setdefault("examples", {})
    )
    examples[failure.code] = {
        "summary": failure.message,
        "value": {"error": {"code": failure.code, "message": failure.message}},
    }
    described = _STATUS_DESCRIPTIONS.get(failure.status_code, failure.description)
    response["description"] = f"{described}: " + ", ".join(f"`{code}`" for code in sorted(examples))


def declared_codes(response: dict[str, Any]) -> set[str]:
    """The codes a `responses=` entry (or an OpenAPI response) lists."""
    examples = response.get("content", {}).get(_JSON, {}).get("examples", {})
    return {example["value"]["error"]["code"] for example in examples.values()}


def _body(
    code: str, message: str, field: str | None = None, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    detail: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        detail["field"] = field
    if details is not None:
        detail["details"] = details
    return {"error": detail}


_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def _allowed_methods(request: Request) -> list[str]:
    """The methods the API documents for this path (the OpenAPI document knows every route)."""
    app: FastAPI = request.app
    for template, item in app.openapi()["paths"].items():
        if re.fullmatch(re.sub(r"\{[^/]+\}", "[^/]+", template), request.url.path):
            return sorted(method.upper() for method in item)
    return []


def _field_of(loc: tuple[Any, ...]) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or None


def install_error_handlers(app: FastAPI) -> None:
    async def app_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AppError)
        return JSONResponse(
            _body(exc.code, exc.message, exc.field, exc.details),
            status_code=exc.status_code,
            headers=exc.headers,
        )

    async def validation_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "Invalid request"}
        loc = tuple(first.get("loc", ()))
        if first.get("type") == "json_invalid":  # its loc names a character position, not a field
            return JSONResponse(
                _body(ValidationFailed.code, "body: The request body is not valid JSON.", "body"),
                status_code=422,
            )
        # The body as a whole (e.g. an array where an object belongs) is named `body`, not left unnamed.
        field = _field_of(loc) or ("body" if loc[:1] == ("body",) else None)
        message = str(first.get("msg", "Invalid request"))
        return JSONResponse(
            _body(ValidationFailed.code, f"{field}: {message}" if field else message, field), status_code=422
        )

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
            # A body that is not even text (e.g. invalid UTF-8) or nests past the parser's recursion limit:
            # the same typed 422, naming the body, as any malformed JSON.
            return JSONResponse(
                _body(ValidationFailed.code, "body: The request body is not valid JSON.", "body"),
                status_code=422,
            )
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else code
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names only the first matching route's methods; a path served by several routes
            # (GET and POST /requests) must list them all.
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return JSONResponse(_body(code, message), status_code=exc.status_code, headers=headers)

    # ConnectionFailure covers server-selection timeouts and dropped connections alike.
    async def database_unavailable(_: Request, exc: Exception) -> JSONResponse:
        log.warning("database.unavailable", error=str(exc)[:200])
        return JSONResponse(
            _body(DatabaseUnavailable.code, DatabaseUnavailable.message),
            status_code=DatabaseUnavailable.status_code,
            headers={"Retry-After": "2"},
        )

    app.add_exception_handler(AppError, app_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(ConnectionFailure, database_unavailable)


def document_typed_validation_errors(app: FastAPI) -> None:
    """FastAPI documents its own 422 body (`HTTPValidationError`) on routes that did not declare one, but
    every 422 here answers `ErrorBody`: make the spec say so, so generated clients get the real type. Every
    operation with a body or parameters lists `validation_error` (FastAPI's checks answer it), and every
    operation the failures of `EVERY_OPERATION` (but not in place of an answer of its own with that status:
    the readiness probe's 503 is its report)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = build()
        for item in spec.get("paths", {}).values():
            for operation in item.values():
                responses = operation.get("responses", {})
                response = responses.get("422")
                if response and "HTTPValidationError" in str(response):
                    response = responses["422"] = {"content": {_JSON: {"schema": {"$ref": _ERROR_BODY}}}}
                if response is not None and (operation.get("parameters") or operation.get("requestBody")):
                    _list(response, ValidationFailed)
                for failure in EVERY_OPERATION:
                    answer = responses.setdefault(
                        str(failure.status_code), {"content": {_JSON: {"schema": {"$ref": _ERROR_BODY}}}}
                    )
                    if answer.get("content", {}).get(_JSON, {}).get("schema") == {"$ref": _ERROR_BODY}:
                        _list(answer, failure)
        schemas = spec.get("components", {}).get("schemas", {})
        schemas.setdefault(
            "ErrorBody", ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        )
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


class TypedCORSMiddleware(CORSMiddleware):
    """Starlette's CORS middleware, whose refused preflight (origin, method or header not allowed) answers
    the typed error body (400 `cors_rejected`) instead of plain text."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        headers = {k: v for k, v in response.headers.items() if k not in ("content-length", "content-type")}
        message = bytes(response.body).decode()  # e.g. "Disallowed CORS origin"
        return JSONResponse(
            _body(CorsRejected.code, message), status_code=response.status_code, headers=headers
        )
