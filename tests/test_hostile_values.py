"""Every opaque value a client sends back — cursors, signed links, tokens, ids in paths and bodies — found
in the live OpenAPI document and sent hostile spellings: each answers the typed 4xx its parser documents,
in the documented error shape, never a 5xx and never plain text. The credentials (not in the document)
and the chat server's HTTP API get the same values.

The members are discovered from the spec, not listed by hand: a new cursor, token or id that `MEMBERS`
does not cover fails `test_the_table_covers_every_value_sent_back`.
"""

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from bson import ObjectId
from starlette.requests import Request
from starlette.routing import Route

from chat_server.app import ChatApp
from shared_models.clock import ManualClock
from shared_models.enums import Role
from tests.conftest import TEST_INTERNAL_TOKEN
from tests.factories import API, Account, make_admin, register, register_subscribed

# The selection rule. Sent back: a path parameter of free text (an id or a slug; enum-valued ones such as
# `{event}` are not opaque); a query, header or cookie parameter named as below; a field of a JSON body
# (nested ones too) named as below or holding an ObjectId by its pattern (`corrects`). Not sent back:
# what the client makes up itself (`Idempotency-Key`, search words, emails, dates, limits).
SENT_BACK_NAME = re.compile(r"^(cursor|before|after|token|.*_id|.*[-_]token|.*signature)$", re.IGNORECASE)
OBJECT_ID_PATTERN = "^[0-9a-f]{24}$"

Key = tuple[str, str, str, str]  # method, path template, where (path, query, body), name


@dataclass(frozen=True)
class Member:
    """Who may call the operation (so the request reaches the parser) and what a hostile value answers."""

    role: str  # "anyone", "customer", "provider" or "admin"
    answers: frozenset[int]
    unknown: int | None = None  # the answer to a well-formed id naming nothing, where it differs
    query: dict[str, str] = field(default_factory=dict)  # other parameters the operation needs
    page: bool = False  # a 200 that is an HTML page, not JSON


def answers(*statuses: int) -> frozenset[int]:
    return frozenset(statuses)


# Ids in paths: unknown and malformed alike are 404 (`parse_object_id` → None → the service's NotFound),
# as every id route documents. Cursors, and ids in queries and bodies (validated by pattern): the typed
# 422, also for a body's id that names nothing (`provider_not_found`, with its field). Single-use and
# signed links: 400 (`link_invalid`, `unsubscribe_link_invalid`) when they are not ours, 422 when they
# break the schema (too long, not a string). Free-text filters (`after` is an email position, `target_id`
# any target's id) match nothing: an empty page.
PATH_ID = Member("customer", answers(404))
ADMIN_PATH_ID = Member("admin", answers(404))
CURSOR = Member("customer", answers(422))
ADMIN_CURSOR = Member("admin", answers(422))
BODY_ID = Member("customer", answers(422))
EVIDENCE_ID = Member("customer", answers(404, 422))
LINK = Member("anyone", answers(400, 422))
FILTER = Member("admin", answers(200, 422))

MEMBERS: dict[Key, Member] = {
    ("GET", "/api/v1/providers/{slug}", "path", "slug"): Member("anyone", answers(404)),
    ("POST", "/api/v1/requests/{request_id}/dispute", "path", "request_id"): PATH_ID,
    ("GET", "/api/v1/disputes", "query", "cursor"): CURSOR,
    ("GET", "/api/v1/disputes/{dispute_id}", "path", "dispute_id"): PATH_ID,
    ("GET", "/api/v1/disputes/{dispute_id}/timeline", "path", "dispute_id"): PATH_ID,
    ("POST", "/api/v1/disputes/{dispute_id}/evidence", "path", "dispute_id"): PATH_ID,
    # The dispute is unknown too: a well-formed (or null) id gets as far as the dispute's 404.
    ("POST", "/api/v1/disputes/{dispute_id}/evidence", "body", "media_id"): EVIDENCE_ID,
    ("POST", "/api/v1/disputes/{dispute_id}/evidence", "body", "corrects"): EVIDENCE_ID,
    ("POST", "/api/v1/requests/{request_id}/review", "path", "request_id"): PATH_ID,
    ("GET", "/api/v1/requests/{request_id}/reviews", "path", "request_id"): PATH_ID,
    ("GET", "/api/v1/providers/{provider_id}/reviews", "path", "provider_id"): Member("anyone", answers(404)),
    ("GET", "/api/v1/providers/{provider_id}/reviews", "query", "cursor"): Member("anyone", answers(422)),
    ("POST", "/api/v1/reviews/{review_id}/reply", "path", "review_id"): Member("provider", answers(404)),
    ("POST", "/api/v1/requests", "body", "provider_id"): BODY_ID,
    ("GET", "/api/v1/requests", "query", "cursor"): CURSOR,
    ("GET", "/api/v1/requests/{request_id}", "path", "request_id"): PATH_ID,
    ("POST", "/api/v1/requests/{request_id}/{event}", "path", "request_id"): PATH_ID,
    ("POST", "/api/v1/requests/{request_id}/payment", "path", "request_id"): PATH_ID,
    ("GET", "/api/v1/requests/{request_id}/payment", "path", "request_id"): PATH_ID,
    ("GET", "/api/v1/admin/requests/{request_id}/payment", "path", "request_id"): ADMIN_PATH_ID,
    ("POST", "/api/v1/conversations", "body", "provider_id"): BODY_ID,
    ("POST", "/api/v1/conversations", "body", "request_id"): BODY_ID,
    ("GET", "/api/v1/conversations", "query", "cursor"): CURSOR,
    ("GET", "/api/v1/conversations/{conversation_id}", "path", "conversation_id"): PATH_ID,
    ("GET", "/api/v1/conversations/{conversation_id}/messages", "path", "conversation_id"): PATH_ID,
    ("GET", "/api/v1/conversations/{conversation_id}/messages", "query", "before"): CURSOR,
    ("PUT", "/api/v1/conversations/{conversation_id}/block", "path", "conversation_id"): PATH_ID,
    ("DELETE", "/api/v1/conversations/{conversation_id}/block", "path", "conversation_id"): PATH_ID,
    ("POST", "/api/v1/media/uploads/{media_id}/confirm", "path", "media_id"): PATH_ID,
    ("GET", "/api/v1/media/{media_id}/download", "path", "media_id"): PATH_ID,
    ("GET", "/api/v1/search/providers", "query", "cursor"): Member(
        "anyone", answers(422), query={"lat": "51.5", "lng": "-0.12"}
    ),
    ("GET", "/api/v1/notifications", "query", "cursor"): CURSOR,
    ("POST", "/api/v1/notifications/{notification_id}/read", "path", "notification_id"): PATH_ID,
    ("GET", "/api/v1/notifications/{notification_id}/deliveries", "path", "notification_id"): PATH_ID,
    ("POST", "/api/v1/email/unsubscribe", "query", "token"): LINK,
    # The page a link opens renders any token into its form (escaped) and never acts on it.
    ("GET", "/api/v1/email/unsubscribe", "query", "token"): Member("anyone", answers(200, 422), page=True),
    ("POST", "/api/v1/auth/verify-email", "body", "token"): LINK,
    ("POST", "/api/v1/auth/password-reset/confirm", "body", "token"): LINK,
    ("GET", "/api/v1/admin/users/{user_id}", "path", "user_id"): ADMIN_PATH_ID,
    ("GET", "/api/v1/admin/billing/webhooks", "query", "cursor"): ADMIN_CURSOR,
    ("GET", "/api/v1/admin/billing/webhooks/{delivery_id}", "path", "delivery_id"): ADMIN_PATH_ID,
    # The webhook replay.
    ("POST", "/api/v1/admin/billing/webhooks/{delivery_id}/reprocess", "path", "delivery_id"): ADMIN_PATH_ID,
    ("GET", "/api/v1/admin/providers/{provider_id}/subscription", "path", "provider_id"): ADMIN_PATH_ID,
    ("GET", "/api/v1/admin/users/{user_id}/notification-deliveries", "path", "user_id"): ADMIN_PATH_ID,
    ("GET", "/api/v1/admin/users", "query", "after"): FILTER,
    ("POST", "/api/v1/admin/users/{user_id}/suspend", "path", "user_id"): ADMIN_PATH_ID,
    ("POST", "/api/v1/admin/users/{user_id}/unsuspend", "path", "user_id"): ADMIN_PATH_ID,
    ("GET", "/api/v1/admin/providers/{provider_id}", "path", "provider_id"): ADMIN_PATH_ID,
    ("POST", "/api/v1/admin/providers/{provider_id}/verify", "path", "provider_id"): ADMIN_PATH_ID,
    ("POST", "/api/v1/admin/providers/{provider_id}/unverify", "path", "provider_id"): ADMIN_PATH_ID,
    ("GET", "/api/v1/admin/audit", "query", "actor_id"): Member("admin", answers(422), unknown=200),
    ("GET", "/api/v1/admin/audit", "query", "target_id"): FILTER,
    ("GET", "/api/v1/admin/audit", "query", "cursor"): ADMIN_CURSOR,
    ("GET", "/api/v1/admin/disputes", "query", "cursor"): ADMIN_CURSOR,
    ("GET", "/api/v1/admin/disputes/{dispute_id}", "path", "dispute_id"): ADMIN_PATH_ID,
    ("POST", "/api/v1/admin/disputes/{dispute_id}/assign", "path", "dispute_id"): ADMIN_PATH_ID,
    ("POST", "/api/v1/admin/disputes/{dispute_id}/request-info", "path", "dispute_id"): ADMIN_PATH_ID,
    ("POST", "/api/v1/admin/disputes/{dispute_id}/resolve", "path", "dispute_id"): ADMIN_PATH_ID,
}


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def search_cursor(offset: str) -> str:
    """A search cursor whose offset is `offset`, spelled as raw JSON."""
    return b64(f'{{"o":{offset},"d":"2026-01-01","q":"x"}}'.encode())


def in_digits(key: str, zero: str) -> str:
    """A cursor key with its time's digits in another script (`\\d` matches them; the id stays ASCII)."""
    time, _, oid = key.rpartition("-")
    return time.translate({ord("0") + d: ord(zero) + d for d in range(10)}) + "-" + oid


OID = "6650f0c2a1b2c3d4e5f60718"
KEY = f"20260101T120000.000000-{OID}"
UNKNOWN_ID = "unknown id"  # the one well-formed value: an id that names nothing
# Hostile spellings of a text value (a path segment, a query value, a body string).
HOSTILE_TEXT: dict[str, str] = {
    "overflow": b64(b'{"o":1e309}'),
    "overflow in a whole cursor": search_cursor("1e309"),
    "NaN": search_cursor("NaN"),
    "Infinity": search_cursor("-Infinity"),
    "huge": search_cursor(str(10**30)),
    "very long number": search_cursor("9" * 5000),
    "negative": search_cursor("-1"),
    "list": b64(b"[1,2]"),
    "string": b64(b'"text"'),
    "bool": b64(b"true"),
    "null": b64(b"null"),
    "deep": b64(b"[" * 200),
    "non-base64": "not base64 at all!*",
    "non-UTF-8": b64(b"\xff\xfe\xc3\x28"),
    "non-JSON": b64(b"hello there"),
    "bare overflow": "1e309",
    "bare NaN": "NaN",
    "bare huge": str(10**30),
    "bare negative": "-1",
    "bare negative huge": str(-(10**30)),
    "zero": "0",
    "fraction": "1.5",
    "oversize": "A" * 10_000,
    "unicode": "ünïcødé 漢字 😀 \u202e",
    "NUL": "a\x00b",
    "controls": "\x01\x1b\x7f",
    "whitespace": " \t ",
    "percent": "%",
    "non-hex id": "z" * 24,
    "23 hex": "a" * 23,
    "25 hex": "a" * 25,
    UNKNOWN_ID: str(ObjectId()),
    "upper-case id": str(ObjectId()).upper(),
    "padded id": f" {ObjectId()} ",
    "signed, non-ASCII mac": b64(f"{ObjectId()}|marketing".encode()) + ".é",
    "signed, no mac": b64(f"{ObjectId()}|marketing".encode()) + ".",
    "signed, non-UTF-8": b64(b"\xff|\xfe") + ".abc",
    "key of no time": f"99999999T999999.999999-{OID}",
    "key in other digits": in_digits(KEY, "\u0660"),
    "unread key in other digits": "1" + in_digits(KEY, "\u0660"),
    "review key in other digits": f"{OID}:" + in_digits(KEY, "\uff10"),
    "JWT-like": "eyJhbGciOiJub25lIn0.eyJzdWIiOjF9.",
}
# Hostile JSON for a body field, as raw JSON text (1e309 and NaN cannot be written by json.dumps).
HOSTILE_JSON: dict[str, str] = {
    **{name: json.dumps(text) for name, text in HOSTILE_TEXT.items()},
    "JSON overflow": "1e309",
    "JSON NaN": "NaN",
    "JSON Infinity": "-Infinity",
    "JSON huge": str(10**30),
    "JSON negative": "-1",
    "JSON list": '["a"]',
    "JSON object": '{"$ne": null}',
    "JSON bool": "true",
    "JSON null": "null",
    "lone surrogate": '"\\ud800"',
    "escaped NUL": '"\\u0000"',
    "deeply nested": "[" * 3000 + "]" * 3000,
}


def body_fields(
    schema: dict[str, Any], schemas: dict[str, Any], prefix: str = ""
) -> Iterator[tuple[str, Any]]:
    """Every field of a JSON body's schema, nested ones dotted (through `$ref`, `anyOf` and arrays)."""
    if "$ref" in schema:
        yield from body_fields(schemas[schema["$ref"].rsplit("/", 1)[-1]], schemas, prefix)
    for part in [*schema.get("anyOf", []), *([schema["items"]] if "items" in schema else [])]:
        yield from body_fields(part, schemas, prefix)
    for name, prop in schema.get("properties", {}).items():
        yield prefix + name, prop
        yield from body_fields(prop, schemas, f"{prefix}{name}.")


def discovered(spec: dict[str, Any]) -> set[Key]:
    """The values a client sends back, by the rule at the top of this module."""
    found: set[Key] = set()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            for p in operation.get("parameters", []):
                schema, name, where = p.get("schema", {}), p["name"], p["in"]
                free_text = schema.get("type") == "string" and "enum" not in schema
                if (where == "path" and free_text) or (where != "path" and SENT_BACK_NAME.match(name)):
                    found.add((method.upper(), path, where, name))
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            for name, prop in body_fields(body.get("schema", {}), spec["components"]["schemas"]):
                if SENT_BACK_NAME.match(name.rsplit(".", 1)[-1]) or OBJECT_ID_PATTERN in json.dumps(prop):
                    found.add((method.upper(), path, "body", name))
    return found


@pytest.fixture
async def spec(api: httpx.AsyncClient) -> dict[str, Any]:
    answer = await api.get("/openapi.json")
    assert answer.status_code == 200
    document: dict[str, Any] = answer.json()
    return document


@dataclass
class Callers:
    by_role: dict[str, Account]

    def headers(self, role: str) -> dict[str, str]:
        return {} if role == "anyone" else self.by_role[role].bearer


@pytest.fixture
async def callers(api: httpx.AsyncClient, clock: ManualClock) -> Callers:
    return Callers(
        {
            "customer": await register(api, Role.customer),
            "provider": await register_subscribed(api),
            "admin": await make_admin(api, clock),
        }
    )


def valid_body(spec: dict[str, Any], method: str, path: str, name: str | None) -> dict[str, Any] | None:
    """A valid body for the operation: its first documented example (carrying `name`, if given), so the
    hostile value is all that is wrong with the request."""
    content = spec["paths"][path][method.lower()].get("requestBody", {}).get("content", {})
    ref = content.get("application/json", {}).get("schema", {}).get("$ref")
    if ref is None:
        return None
    examples: list[dict[str, Any]] = spec["components"]["schemas"][ref.rsplit("/", 1)[-1]].get("examples", [])
    carrying = [e for e in examples if name is None or name in e]
    return dict(carrying[0]) if carrying else {}


def filled_path(spec: dict[str, Any], method: str, path: str, name: str | None, value: str) -> str:
    """The path with `name` set to `value` (URL-encoded) and every other parameter a valid value."""
    schemas = spec["components"]["schemas"]
    for p in spec["paths"][path][method.lower()].get("parameters", []):
        if p["in"] != "path":
            continue
        if p["name"] == name:
            segment = quote(value, safe="")
        elif "$ref" in p["schema"]:
            segment = schemas[p["schema"]["$ref"].rsplit("/", 1)[-1]]["enum"][0]
        else:
            segment = str(ObjectId())
        path = path.replace("{" + p["name"] + "}", segment)
    return path


@dataclass
class Probe:
    key: Key
    label: str
    request: httpx.Request


def probes(spec: dict[str, Any], api: httpx.AsyncClient, callers: Callers) -> Iterator[Probe]:
    for key, member in MEMBERS.items():
        method, path, where, name = key
        headers = callers.headers(member.role)
        if where == "body":
            example = valid_body(spec, method, path, name) or {}
            url = filled_path(spec, method, path, None, "")
            as_json = {**headers, "Content-Type": "application/json"}
            for label, raw in HOSTILE_JSON.items():
                content = json.dumps({**example, name: "__HOSTILE__"}).replace('"__HOSTILE__"', raw)
                request = api.build_request(
                    method, url, content=content, params=member.query, headers=as_json
                )
                yield Probe(key, label, request)
            continue
        body = valid_body(spec, method, path, None)
        for label, text in HOSTILE_TEXT.items():
            url = filled_path(spec, method, path, name if where == "path" else None, text)
            params = {**member.query, **({name: text} if where == "query" else {})}
            request = api.build_request(method, url, params=params, json=body, headers=headers)
            yield Probe(key, label, request)


def typed_error(answer: httpx.Response) -> dict[str, Any] | None:
    """The `{"error": {"code", "message", ...}}` body of a JSON answer, or None."""
    if not answer.headers.get("content-type", "").startswith("application/json"):
        return None
    error = answer.json().get("error") if isinstance(answer.json(), dict) else None
    if (
        isinstance(error, dict)
        and isinstance(error.get("code"), str)
        and isinstance(error.get("message"), str)
    ):
        return error
    return None


def judged(probe: Probe, answer: httpx.Response, spec: dict[str, Any]) -> str | None:
    """Why the answer is wrong, or None."""
    method, path, where, name = probe.key
    member = MEMBERS[probe.key]
    status = answer.status_code
    expected = {member.unknown} if probe.label == UNKNOWN_ID and member.unknown else member.answers
    if status not in expected:
        return f"status {status}, not {sorted(expected)}: {answer.text[:160]!r}"
    if str(status) not in spec["paths"][path][method.lower()]["responses"]:
        return f"status {status} is not documented for the operation"
    if member.page and status == 200:
        return None if answer.headers["content-type"].startswith("text/html") else "the page is not HTML"
    if status < 400:
        return None if answer.headers["content-type"] == "application/json" else "not JSON"
    error = typed_error(answer)
    if error is None:
        return f"not the typed error body: {answer.headers.get('content-type')} {answer.text[:120]!r}"
    # A 422 names the value that was wrong: this one, or the body as a whole when it is not JSON at all.
    # A null for an optional field is no value: the error is then about what the body lacks.
    named = {name, "body"} if where == "body" else {name}
    if status == 422 and error.get("field") not in named and probe.label != "JSON null":
        return f"422 names {error.get('field')!r}, not {name!r}: {error['message'][:120]!r}"
    return None


async def test_the_table_covers_every_value_sent_back(spec: dict[str, Any]) -> None:
    found = discovered(spec)
    assert found - MEMBERS.keys() == set(), "sent back but not in MEMBERS: give each a row"
    assert MEMBERS.keys() - found == set(), "in MEMBERS but no longer in the API"


async def test_hostile_values_get_the_typed_error_of_their_parser(
    api: httpx.AsyncClient, spec: dict[str, Any], callers: Callers
) -> None:
    failures: list[str] = []
    count = 0
    for probe in probes(spec, api, callers):
        count += 1
        problem = judged(probe, await api.send(probe.request), spec)
        if problem is not None:
            method, path, where, name = probe.key
            failures.append(f"{method} {path} {where}:{name} [{probe.label}] {problem}")
    assert count >= len(MEMBERS) * len(HOSTILE_TEXT)
    assert failures == [], "\n".join(failures)


async def test_hostile_credentials_get_the_typed_401_403_or_400(
    api: httpx.AsyncClient, api_factory: Any
) -> None:
    """The values the spec does not list: the bearer token, the session cookie, the CSRF header and
    Stripe's signature header, each with every hostile text (as UTF-8 bytes, and as Latin-1 where that
    differs: header values are bytes, which Starlette decodes as Latin-1)."""
    account = await register(api)
    payload = json.dumps({"id": "evt_1", "object": "event", "type": "ping", "data": {"object": {}}})
    failures: list[str] = []
    for label, text in HOSTILE_TEXT.items():
        spellings = {text.encode("utf-8", "surrogatepass"), text.encode("latin-1", "replace")}
        for value in spellings:
            async with api_factory() as client:
                sent = {
                    "bearer": (
                        401,
                        await client.get(f"{API}/auth/me", headers={"Authorization": b"Bearer " + value}),
                    ),
                    "cookie": (
                        401,
                        await client.get(f"{API}/auth/me", headers={"Cookie": b"session=" + value}),
                    ),
                    "csrf": (
                        403,
                        await client.post(
                            f"{API}/auth/verify-email/resend",
                            headers={"Cookie": f"session={account.token}", "X-CSRF-Token": value},
                        ),
                    ),
                    "stripe signature": (
                        400,
                        await client.post(
                            f"{API}/billing/webhook",
                            content=payload,
                            headers={"Content-Type": "application/json", "Stripe-Signature": value},
                        ),
                    ),
                }
            for credential, (status, answer) in sent.items():
                if answer.status_code == status and typed_error(answer) is not None:
                    continue
                failures.append(f"{credential} [{label}] {answer.status_code}: {answer.text[:160]!r}")
    assert failures == [], "\n".join(failures)


async def test_the_chat_servers_http_api_answers_hostile_ids_and_bodies_in_the_typed_shape(
    chat_app: ChatApp,
) -> None:
    """Its internal routes (the platform's calls; shared-token auth) take ids in paths and JSON bodies."""
    paths = (
        "/internal/users/{}/events",
        "/internal/users/{}/disconnect",
        "/internal/sessions/{}/disconnect",
        "/internal/conversations/{}/changed",
    )
    bodies = [*HOSTILE_JSON.values(), '{"queries": [' + ",".join(['{"userId": 1e309}'] * 3) + "]}"]
    failures: list[str] = []
    transport = httpx.ASGITransport(app=chat_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://chat") as chat:
        headers = {"X-Internal-Token": TEST_INTERNAL_TOKEN, "Content-Type": "application/json"}
        for label, text in HOSTILE_TEXT.items():
            for template in paths:
                answer = await chat.post(template.format(quote(text, safe="")), headers=headers, content="{}")
                if answer.status_code >= 500 or answer.headers["content-type"] != "application/json":
                    failures.append(f"{template} [{label}] {answer.status_code}: {answer.text[:120]!r}")
        for raw in bodies:
            for path in ("/internal/presence", "/internal/notifications", f"/internal/users/{OID}/events"):
                answer = await chat.post(path, headers=headers, content=raw)
                if answer.status_code != 422 or typed_error(answer) is None:
                    failures.append(f"{path} [{raw[:30]}] {answer.status_code}: {answer.text[:120]!r}")
    assert failures == [], "\n".join(failures)


async def test_an_unhandled_failure_in_the_chat_servers_http_api_answers_the_typed_500(
    chat_app: ChatApp,
) -> None:
    """As on the platform (tests/test_observability.py): JSON in the documented shape with the request
    id, never Starlette's plain text."""

    async def broken(_: Request) -> None:
        raise RuntimeError("a bug")

    chat_app.http.router.routes.append(Route("/test-only/broken", broken))
    transport = httpx.ASGITransport(app=chat_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://chat") as chat:
        answer = await chat.get("/test-only/broken", headers={"X-Request-ID": "trace-chat-1"})
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["x-request-id"] == "trace-chat-1"
    assert answer.json()["error"] == {
        "code": "internal_error",
        "message": "Something went wrong on our side; it is logged under this request id.",
        "details": {"request_id": "trace-chat-1"},
    }
