"""The Swagger console documents the auth routes with schemas, examples and typed errors."""

import httpx

AUTH_ROUTES = {
    ("post", "/api/v1/auth/register"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/logout"),
    ("get", "/api/v1/auth/me"),
}


async def test_docs_page_is_served(api: httpx.AsyncClient) -> None:
    page = await api.get("/docs")
    assert page.status_code == 200
    assert "swagger-ui" in page.text.lower()


async def test_auth_routes_are_documented_with_schemas_examples_and_errors(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()
    paths = spec["paths"]
    for method, path in AUTH_ROUTES:
        operation = paths[path][method]
        assert operation["summary"], path
        assert operation["tags"] == ["auth"]
        errors = {code: r for code, r in operation["responses"].items() if code.startswith("4")}
        assert errors, f"{method} {path} documents no failures"
        for response in errors.values():
            assert response["content"]["application/json"]["schema"]["$ref"].endswith(
                ("/ErrorBody", "/HTTPValidationError")
            )
    schemas = spec["components"]["schemas"]
    for name in ("RegisterRequest", "LoginRequest"):
        assert schemas[name].get("examples"), f"{name} has no examples"
    assert "access_token" in schemas["SessionOut"]["properties"]
    assert {"code", "message", "field"} <= set(schemas["ErrorDetail"]["properties"])


async def test_every_operation_is_tagged_and_summarised(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            assert operation.get("tags"), f"{method} {path}"
            assert operation.get("summary"), f"{method} {path}"


async def test_every_operation_documents_typed_errors_and_every_body_has_examples(
    api: httpx.AsyncClient,
) -> None:
    """What the console and the generated clients rely on, for the whole API (not just auth)."""
    spec = (await api.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            errors = {c: r for c, r in operation["responses"].items() if c[0] in "45"}
            if path not in ("/healthz", "/readyz"):
                assert errors, f"{where} documents no failures"
            for code, response in errors.items():
                schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                if code == "503" and path == "/readyz":
                    continue
                assert schema.get("$ref", "").endswith("/ErrorBody"), (where, code)
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is None:
                continue
            ref = body["schema"].get("$ref") or body["schema"].get("anyOf", [{}])[0].get("$ref", "")
            model = schemas[ref.rsplit("/", 1)[-1]]
            has_examples = bool(model.get("examples")) or any(
                p.get("examples") for p in model.get("properties", {}).values()
            )
            assert has_examples, f"{where}: {ref} has no examples"
