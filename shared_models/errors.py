"""The refusals both services answer: one hierarchy, one class per client-visible code.

A concrete class names one failure and carries what clients see: its `code`, its HTTP `status_code` and a
default `message` (a raise may say more, and add the `field`, `details` or `headers`). The platform maps
it to its typed JSON body (`platform_api.errors`), the chat server to its ack (`chat_server.events.base`).
A concrete class subclasses the status class of its own status: the status classes group failures by
status (`except Conflict:`); they are not raised themselves. A failure that one route answers with another
status (a missing provider named in a body, 422, rather than in the path, 404) is a class of that status
with the same code, naming the class it is a variant of (`variant_of`).
"""

from typing import Any, ClassVar


class AppError(Exception):
    status_code: ClassVar[int] = 400
    description: ClassVar[str] = "Bad request"  # what the status means, in the OpenAPI document
    code: str = "bad_request"
    message: str = "The request cannot be served."
    # The failure this class answers with another status (same code, another grouping class), if any.
    variant_of: ClassVar[type["AppError"] | None] = None

    def __init__(
        self,
        message: str | None = None,
        *,
        field: str | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        if message is not None:
            self.message = message
        super().__init__(self.message)
        self.field = field
        self.details = details
        self.headers = headers


class BadRequest(AppError):
    pass


class Unauthorized(AppError):
    status_code = 401
    description = "Not authenticated, or the session is invalid, expired or revoked"
    code = "not_authenticated"


class Forbidden(AppError):
    status_code = 403
    description = "Authenticated but not allowed (role, CSRF, suspended account)"
    code = "forbidden"


class NotFound(AppError):
    status_code = 404
    description = "Not found (or not visible to the caller)"
    code = "not_found"


class Conflict(AppError):
    status_code = 409
    description = "Conflicts with the current state"
    code = "conflict"


class Unprocessable(AppError):
    status_code = 422
    description = "The request body, path or query is invalid"
    code = "validation_error"


class TooManyRequests(AppError):
    status_code = 429
    description = "Too many attempts; wait `Retry-After` seconds"
    code = "rate_limited"


class ServerError(AppError):
    status_code = 500
    description = "Failed on our side"
    code = "internal_error"


class ServiceUnavailable(AppError):
    status_code = 503
    description = "A dependency is unavailable; retry later"
    code = "service_unavailable"


STATUS_CLASSES: tuple[type[AppError], ...] = (
    AppError,
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    Unprocessable,
    TooManyRequests,
    ServerError,
    ServiceUnavailable,
)


# Failures of no one domain, answered by both services.
class BodyTooLarge(AppError):
    status_code = 413
    description = "The body is too large"
    code = "payload_too_large"
    message = "The body is too large."


class InternalError(ServerError):
    """What an unhandled failure answers (`shared_models.runtime.telemetry`), and its refinements."""

    code = "internal_error"
    message = "Something went wrong on our side; it is logged under this request id."
