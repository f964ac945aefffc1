"""A local fake of Mapbox's forward geocoding API (v6), answering in Mapbox's response shape.

python -m tests.fakes.mapbox --port 12345 --token pk.test
"""

import argparse
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

PLACES = {
    "camden market": (-0.146, 51.5415, "Camden Market, London NW1 8AH, United Kingdom"),
    "gare du nord": (2.3553, 48.8809, "Gare du Nord, 75010 Paris, France"),
}
ATTRIBUTION = "NOTICE: © 2026 Mapbox and its suppliers. All rights reserved."


def feature(lng: float, lat: float, full_address: str) -> dict[str, Any]:
    name = full_address.split(",")[0]
    return {
        "type": "Feature",
        "id": "dXJuOm1ieHBvaTpmYWtl",
        "geometry": {"type": "Point", "coordinates": [lng, lat]},
        "properties": {
            "mapbox_id": "dXJuOm1ieHBvaTpmYWtl",
            "feature_type": "poi",
            "full_address": full_address,
            "name": name,
            "name_preferred": name,
            "coordinates": {"longitude": lng, "latitude": lat, "accuracy": "rooftop"},
            "place_formatted": ", ".join(full_address.split(",")[1:]).strip(),
            "context": {},
        },
    }


def create_app(token: str) -> Starlette:
    calls: list[str] = []

    async def forward(request: Request) -> JSONResponse:
        if request.query_params.get("access_token") != token:
            return JSONResponse({"message": "Not Authorized - Invalid Token"}, status_code=401)
        q = request.query_params.get("q", "").strip().lower()
        calls.append(q)
        if q == "explode":
            return JSONResponse({"message": "Internal Server Error"}, status_code=500)
        features = [feature(*PLACES[q])] if q in PLACES else []
        return JSONResponse({"type": "FeatureCollection", "features": features, "attribution": ATTRIBUTION})

    async def stats(_: Request) -> JSONResponse:
        return JSONResponse({"calls": calls})

    return Starlette(
        routes=[
            Route("/search/geocode/v6/forward", forward),
            Route("/_stats", stats),
            Route("/healthz", lambda _: JSONResponse({"ok": True})),
        ]
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    args = parser.parse_args()
    uvicorn.run(create_app(args.token), host="127.0.0.1", port=args.port, log_level="warning")
