"""The app's routes as requests reach them. FastAPI (0.165) keeps an included router as one entry of
`app.routes` (its own routes inside, under the include's prefix), so walking `app.routes` alone misses
every route of every router."""

from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.routing import APIRoute


def api_routes(app: FastAPI) -> Iterator[tuple[str, APIRoute]]:
    """(full path, route) of every API route, included routers' too."""

    def walk(routes: list[object], prefix: str) -> Iterator[tuple[str, APIRoute]]:
        for route in routes:
            if isinstance(route, APIRoute):
                yield prefix + route.path, route
            inner = getattr(route, "original_router", None)
            if inner is not None:
                yield from walk(inner.routes, prefix + route.include_context.prefix)  # type: ignore[attr-defined]

    yield from walk(list(app.routes), "")
