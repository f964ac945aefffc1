"""The platform's HTTP throughput against the framework ceiling, same uvicorn settings, one run.

    .venv/bin/python -m bench.http_ceiling [--requests 3000] [--concurrency 32]

Measures, against real processes (engine + uvicorn, one worker each, no access log): a bare FastAPI
hello-world (bench/reference/hello_app.py), the platform's authenticated `GET /auth/me` (token check,
revocation lookup, user read) and a typical list endpoint, `GET /requests` (a provider's 20 newest of 200).
Prints requests/s, p50/p95 and each endpoint's ratio to the ceiling (issue 17's goals: `/auth/me` ≥ 50 %,
`/requests` ≥ 15 %). The load comes from one Node keep-alive client (bench/reference/http_load.mjs) on the
same machine, identical for all three. Asserts nothing about speed.
"""

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench.fixtures import stripe_subscription, subscribe
from bench.scratch import interruptible, release
from platform_api.config import Settings
from scripts import stack
from scripts.processes import ManagedProcess, free_port, http_ok
from shared_models.documents import ProviderProfile
from shared_models.enums import Role
from shared_models.runtime.registry import connect, init_models
from tests.factories import account_of, register_payload

SECRET = "bench-secret-0123456789abcdef0123456789abcdef"


def load(url: str, n: int, concurrency: int, authorization: str | None) -> dict[str, float]:
    """Run the Node load client (bench/reference/http_load.mjs) and return its figures."""
    argv = ["node", str(Path(__file__).parent / "reference" / "http_load.mjs"), url, str(n), str(concurrency)]
    done = subprocess.run([*argv, *([authorization] if authorization else [])], capture_output=True, text=True,
                          check=True, timeout=600)  # fmt: skip
    figures: dict[str, float] = json.loads(done.stdout)
    return figures


async def subscribe_directly(uri: str, db: str, provider_id: str) -> None:
    """An active basic subscription through the webhook module's import (so the provider takes requests)."""
    client = connect(uri, 2000)
    try:
        await init_models(client, db)
        profile = await ProviderProfile.get(provider_id)
        assert profile is not None
        now = datetime.now(UTC)
        price = Settings().stripe_price_tier_basic or "price_basic_monthly"
        await subscribe([(profile, stripe_subscription(1, price, now))], now)
    finally:
        await client.close()


async def run(requests: int, concurrency: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-http-"))
    engine_port, platform_port, hello_port = free_port(), free_port(), free_port()
    env = {
        "ENVIRONMENT": "test",
        "MONGODB_URI": stack.mongodb_uri(engine_port),
        "MONGODB_DB": "bench_http",
        "JWT_SECRET": SECRET,
        "LOG_LEVEL": "WARNING",
        "HTTP_RATE_LIMITS": "false",
        "SCHEDULER_ENABLED": "false",
        "STRIPE_API_BASE": f"http://127.0.0.1:{free_port()}",
    }
    hello = ManagedProcess(
        name="hello",
        argv=[sys.executable, "-m", "uvicorn", "--factory", "bench.reference.hello_app:create_app",
              "--host", "127.0.0.1", "--port", str(hello_port), "--no-access-log", "--lifespan", "on"],
        ready=lambda: http_ok(f"http://127.0.0.1:{hello_port}/healthz"),
        log_path=tmp / "hello.log",
    )  # fmt: skip
    procs: list[ManagedProcess] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    try:
        # Appended before starting: a signal while one starts still stops it (ManagedProcess.kill).
        for proc in (
            stack.engine(engine_port, tmp / "mongo", tmp),
            stack.platform(platform_port, env, tmp),
            hello,
        ):
            procs.append(proc)
            proc.start()
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{platform_port}/api/v1", limits=limits
        ) as api:
            customer = account_of(
                (await api.post("/auth/register", json=register_payload(Role.customer))).json()
            )
            provider_body = (await api.post("/auth/register", json=register_payload(Role.provider))).json()
            provider = account_of(provider_body)
            await subscribe_directly(env["MONGODB_URI"], env["MONGODB_DB"], provider_body["provider"]["id"])
            start = datetime.now(UTC) + timedelta(days=3)
            for _ in range(200):
                created = await api.post(
                    "/requests",
                    headers=customer.bearer,
                    json={
                        "provider_id": provider_body["provider"]["id"], "category": "cleaning",
                        "description": "Bench job", "address": "1 Bench Street",
                        "location": {"lat": 51.5, "lng": -0.12},
                        "window": {"start": start.isoformat(), "end": (start + timedelta(hours=2)).isoformat()},
                    },
                )  # fmt: skip
                assert created.status_code == 201, created.text

            targets = [
                ("bare FastAPI hello-world (ceiling)", f"http://127.0.0.1:{hello_port}/hello", None),
                (
                    "GET /auth/me (authenticated)",
                    f"http://127.0.0.1:{platform_port}/api/v1/auth/me",
                    customer.bearer["Authorization"],
                ),
                (
                    "GET /requests (20 of 200)",
                    f"http://127.0.0.1:{platform_port}/api/v1/requests",
                    provider.bearer["Authorization"],
                ),
            ]
            for _, url, auth in targets:  # warm-up: connections and caches, same for all
                load(url, min(300, requests), concurrency, auth)
            print(f"HTTP, {requests} requests per endpoint, {concurrency} concurrent (Node keep-alive client), "
                  "one uvicorn worker each")  # fmt: skip
            ceiling = None
            for name, url, auth in targets:
                result = load(url, requests, concurrency, auth)
                assert result["errors"] == 0, result
                ratio = f"   {result['rate'] / ceiling:6.1%} of the ceiling" if ceiling else ""
                print(
                    f"{name:<34} {result['rate']:8.0f}/s   p50 {result['p50']:6.1f} ms   "
                    f"p95 {result['p95']:6.1f} ms{ratio}"
                )
                ceiling = ceiling or result["rate"]
            print("goals (issue 17): GET /auth/me >= 50 % of the ceiling, GET /requests >= 15 %")
    finally:
        release(tmp, procs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    interruptible(lambda: asyncio.run(run(args.requests, args.concurrency)))


if __name__ == "__main__":
    main()
