"""Every moment a client sends (found in the live OpenAPI: parameters and body fields of format
date-time) is taken only in years 1000 to 9999 UTC, with its offset: an offset that carries a moment past
Python's range (0001-01-01T00:00:00+01:00 is in year 0) was an OverflowError and a 500."""

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from shared_models.clock import ManualClock
from tests.factories import API, make_admin
from tests.platform_api.bookings.helpers import Parties, request_payload

HOSTILE = {
    "year 0 by its offset": "0001-01-01T00:00:00+01:00",
    "year 10000 by its offset": "9999-12-31T23:00:00-05:00",
    "before year 1000": "0999-12-31T23:59:59Z",
    "no offset": "2026-12-01T09:00:00",
    "year 10000": "10000-01-01T00:00:00Z",
    "not a moment": "soon",
}


def _is_moment(schema: dict[str, Any], schemas: dict[str, Any]) -> bool:
    if "$ref" in schema:
        return _is_moment(schemas[schema["$ref"].rsplit("/", 1)[-1]], schemas)
    return schema.get("format") == "date-time" or any(_is_moment(s, schemas) for s in schema.get("anyOf", []))


def _fields(schema: dict[str, Any], schemas: dict[str, Any], prefix: str = "") -> Iterator[str]:
    if "$ref" in schema:
        yield from _fields(schemas[schema["$ref"].rsplit("/", 1)[-1]], schemas, prefix)
        return
    for option in schema.get("anyOf", []):
        yield from _fields(option, schemas, prefix)
    for name, field in schema.get("properties", {}).items():
        if _is_moment(field, schemas):
            yield prefix + name
        else:
            yield from _fields(field, schemas, f"{prefix}{name}.")


def client_moments(spec: dict[str, Any]) -> set[tuple[str, str]]:
    schemas = spec["components"]["schemas"]
    found = set()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            found |= {
                (where, p["name"])
                for p in operation.get("parameters", [])
                if _is_moment(p["schema"], schemas)
            }
            body = (
                operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            )
            if body:
                found |= {(where, name) for name in _fields(body, schemas)}
    return found


TABLE = {
    (f"GET {API}/admin/search/fairness", "since"),
    (f"GET {API}/admin/search/fairness", "until"),
    (f"GET {API}/admin/disputes", "opened_before"),
    (f"POST {API}/requests", "window.start"),
    (f"POST {API}/requests", "window.end"),
}


async def test_the_table_names_every_moment_a_client_sends(api: httpx.AsyncClient) -> None:
    assert client_moments((await api.get("/openapi.json")).json()) == TABLE


@pytest.mark.parametrize("label", list(HOSTILE))
async def test_a_moment_out_of_range_or_without_offset_is_a_typed_422(
    api: httpx.AsyncClient, parties: Parties, clock: ManualClock, label: str
) -> None:
    value = HOSTILE[label]
    admin = await make_admin(api, clock)
    fine = (clock.now() - timedelta(days=1)).isoformat()
    sent = {
        "since": await api.get(
            f"{API}/admin/search/fairness", params={"since": value, "until": fine}, headers=admin.bearer
        ),
        "until": await api.get(
            f"{API}/admin/search/fairness", params={"since": fine, "until": value}, headers=admin.bearer
        ),
        "opened_before": await api.get(
            f"{API}/admin/disputes", params={"opened_before": value}, headers=admin.bearer
        ),
    }
    for end in ("start", "end"):
        payload = request_payload(parties.provider_id, clock.now())
        payload["window"][end] = value
        sent[f"window.{end}"] = await api.post(
            f"{API}/requests", json=payload, headers=parties.customer.bearer
        )
    assert {name for _, name in TABLE} == set(sent)
    for name, answer in sent.items():
        assert answer.status_code == 422, (name, answer.status_code, answer.text)
        error = answer.json()["error"]
        assert error["code"] == "validation_error"
        assert error["field"] in (name, name.split(".")[0]), (name, error)
