"""Stripe's conventions around every `/v1` handler: the secret key, form-encoded params, idempotency keys
(replayed, refused when reused with other params), typed refusals, `expand[]`, the request an event names."""

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from scripts.stripe_fake.wire import Json, StripeError, decode_form, new_id, public

if TYPE_CHECKING:
    from scripts.stripe_fake.app import FakeStripe

Endpoint = Callable[[Request], Awaitable[Response]]
ApiHandler = Callable[[Request, Json], Awaitable[Response]]
Resource = Callable[["FakeStripe", Request, Json], Json]
Page = Callable[["FakeStripe", Request], Awaitable[Response]]


def api(fake: "FakeStripe", handler: ApiHandler) -> Endpoint:
    async def wrapped(request: Request) -> Response:
        if not request.headers.get("authorization", "").startswith("Bearer sk_"):
            return StripeError(401, "Invalid API Key provided.", "api_key_invalid").response()
        key = request.headers.get("idempotency-key") if request.method == "POST" else None
        if request.method == "POST":
            params = decode_form((await request.body()).decode())
        else:
            params = decode_form(request.url.query)
        if key:
            response = await _idempotent(fake, handler, request, params, key)
        else:
            response = await _run(fake, handler, request, params, None)
        fake.save()
        return response

    return wrapped


def resource(fake: "FakeStripe", handler: Resource) -> Endpoint:
    """An API endpoint whose handler returns the Stripe object (or raises `StripeError`)."""

    async def respond(request: Request, params: Json) -> Response:
        return JSONResponse(expanded(fake, public(handler(fake, request, params)), params))

    return api(fake, respond)


def page(fake: "FakeStripe", handler: Page) -> Endpoint:
    """A control endpoint or hosted page, bound to the fake (no API key: a browser or a test calls it)."""

    async def endpoint(request: Request) -> Response:
        return await handler(fake, request)

    return endpoint


def expanded(fake: "FakeStripe", obj: Json, params: Json) -> Json:
    """`expand[]=latest_charge`: top-level ids replaced by their objects, as Stripe does."""
    paths = params.get("expand") or []
    for name in [paths] if isinstance(paths, str) else paths:
        value = obj.get(name)
        target = fake.objects.get(value) if isinstance(value, str) else None
        if target is not None:
            obj[name] = public(target)
    return obj


async def _idempotent(
    fake: "FakeStripe", handler: ApiHandler, request: Request, params: Json, key: str
) -> Response:
    # Stripe scopes a key to the endpoint, replays what it answered the first time (errors included, except a
    # 409 or a 5xx, which may be retried) and refuses the key with other params.
    scope = f"{request.url.path} {key}"
    saved = fake.idempotent.get(scope)
    if saved is not None:
        if saved["params"] != params:
            return StripeError(
                400,
                "Keys for idempotent requests can only be used with the same parameters they were first used "
                f"with. Try using a key other than '{key}' if you meant to execute a different request.",
                kind="idempotency_error",
            ).response()
        return JSONResponse(
            saved["body"], status_code=saved["status"], headers={"Idempotent-Replayed": "true"}
        )
    response = await _run(fake, handler, request, params, key)
    if response.status_code < 500 and response.status_code != 409:
        body: Any = json.loads(bytes(response.body))
        fake.idempotent[scope] = {"params": params, "status": response.status_code, "body": body}
    return response


async def _run(
    fake: "FakeStripe", handler: ApiHandler, request: Request, params: Json, key: str | None
) -> Response:
    request_id = new_id("req")
    fake.request_context = {"id": request_id, "idempotency_key": key}
    try:
        response = await handler(request, params)
    except StripeError as exc:
        response = exc.response()
    finally:
        fake.request_context = None
    response.headers["Request-Id"] = request_id
    return response
