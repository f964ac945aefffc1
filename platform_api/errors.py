"""Error types raised by services, and the one place that maps every failure to a typed JSON body.

Every 4xx (and the 503 of a lost database) answers `{"error": {"code", "message", "field"?}}`.
"""

import re
from typing import Any, ClassVar

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


class AppError(Exception):
    status_code: ClassVar[int] = 400
    default_code: ClassVar[str] = "bad_request"
    description: ClassVar[str] = "Bad request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code or self.default_code
        self.message = message
        self.field = field
        self.details = details
        self.headers = headers


class BadRequest(AppError):
    pass


class Unauthorized(AppError):
    status_code = 401
    default_code = "not_authenticated"
    description = "Not authenticated, or the session is invalid, expired or revoked"


class Forbidden(AppError):
    status_code = 403
    default_code = "forbidden"
    description = "Authenticated but not allowed (role, CSRF, suspended account)"


class NotFound(AppError):
    status_code = 404
    default_code = "not_found"
    description = "Not found (or not visible to the caller)"


class Conflict(AppError):
    status_code = 409
    default_code = "conflict"
    description = "Conflicts with the current state"


class Unprocessable(AppError):
    status_code = 422
    default_code = "validation_error"
    description = "The request body, path or query is invalid"


class TooManyRequests(AppError):
    status_code = 429
    default_code = "rate_limited"
    description = "Too many attempts; wait `Retry-After` seconds"


class ServiceUnavailable(AppError):
    status_code = 503
    default_code = "service_unavailable"
    description = "A dependency is unavailable; retry later"


def error_responses(*errors: type[AppError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for a route: each failure documented with the typed error body."""
    return {e.status_code: {"model": ErrorBody, "description": e.description} for e in errors}


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
                _body("validation_error", "body: The request body is not valid JSON.", "body"),
                status_code=422,
            )
        # The body as a whole (e.g. an array where an object belongs) is named `body`, not left unnamed.
        field = _field_of(loc) or ("body" if loc[:1] == ("body",) else None)
        message = str(first.get("msg", "Invalid request"))
        return JSONResponse(
            _body("validation_error", f"{field}: {message}" if field else message, field), status_code=422
        )

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
            # A body that is not even text (e.g. invalid UTF-8) or nests past the parser's recursion limit:
            # the same typed 422, naming the body, as any malformed JSON.
            return JSONResponse(
                _body("validation_error", "body: The request body is not valid JSON.", "body"),
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
            _body("database_unavailable", "The database is unavailable; retry shortly."),
            status_code=503,
            headers={"Retry-After": "2"},
        )

    app.add_exception_handler(AppError, app_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(ConnectionFailure, database_unavailable)


def document_typed_validation_errors(app: FastAPI) -> None:
    """FastAPI documents its own 422 body (`HTTPValidationError`) on routes that did not declare one, but
    every 422 here answers `ErrorBody`: make the spec say so, so generated clients get the real type."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = build()
        for item in spec.get("paths", {}).values():
            for operation in item.values():
                response = operation.get("responses", {}).get("422")
                if response and "HTTPValidationError" in str(response):
                    operation["responses"]["422"] = {
                        "description": Unprocessable.description,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}
                        },
                    }
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
            _body("cors_rejected", message), status_code=response.status_code, headers=headers
        )
