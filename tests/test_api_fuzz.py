"""schemathesis against the live OpenAPI spec of the running platform, as each role: no 5xx, every response
matches its declared status codes, content type and schema, and every error has the typed body."""

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from shared_models.enums import Role
from tests.conftest import LiveStack, live_admin
from tests.factories import API, Account, account_of, register_payload

pytestmark = pytest.mark.e2e
EXAMPLES = 4  # per operation and role: bounded to fit the suite's time budget
# Operations that would end the fuzzing session itself (they are tested directly elsewhere).
SELF_ENDING = {("POST", f"{API}/auth/logout"), ("DELETE", f"{API}/account")}


@schemathesis.check
def typed_error_body(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """Every 4xx/5xx answers `{"error": {"code", "message", ...}}`."""
    if response.status_code < 400:
        return None
    body = response.json()
    error = body.get("error") if isinstance(body, dict) else None
    if not (
        isinstance(error, dict)
        and isinstance(error.get("code"), str)
        and isinstance(error.get("message"), str)
    ):
        raise AssertionError(f"untyped error body: {response.text[:200]}")
    return True


@pytest.fixture(scope="session")
def live_schema(live_stack: LiveStack) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{live_stack.platform_url}/openapi.json")


@pytest.fixture(scope="session")
def sessions(live_stack: LiveStack) -> dict[str, Account]:
    accounts = {"admin": live_admin(live_stack)}
    with httpx.Client(base_url=live_stack.platform_url, timeout=20) as client:
        for role in (Role.customer, Role.provider):
            response = client.post(f"{API}/auth/register", json=register_payload(role))
            assert response.status_code == 201, response.text
            accounts[role.value] = account_of(response.json())
    return accounts


BOUNDED = settings(
    max_examples=EXAMPLES,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    typed_error_body,
]


def fuzz(schema: schemathesis.BaseSchema, account: Account | None, base_url: str) -> int:
    """Every operation, `EXAMPLES` generated cases each; returns how many operations ran. Failures are
    collected over all operations so one run reports everything it found."""
    headers = account.bearer if account is not None else {}
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if account is not None and (operation.method.upper(), operation.path) in SELF_ENDING:
            continue  # would end the fuzzing session itself; covered by its own tests
        operations += 1

        @given(case=operation.as_strategy())
        @BOUNDED
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS)

        try:
            run()
        except Exception as exc:
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:600]}")
    assert not failures, "\n\n".join(failures)
    return operations


@pytest.mark.parametrize("role", ["anonymous", "customer", "provider", "admin"])
def test_the_live_api_holds_its_contract(
    role: str, live_schema: schemathesis.BaseSchema, sessions: dict[str, Account], live_stack: LiveStack
) -> None:
    ran = fuzz(live_schema, sessions.get(role), live_stack.platform_url)
    assert ran >= 68  # every documented operation (all of them, or all but the session-ending two)
