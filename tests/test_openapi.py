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
