"""Auth and socket connection throughput against real processes (engine + uvicorn). Prints figures only.

.venv/bin/python -m bench.bench_auth [--requests N] [--concurrency C]
"""

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import socketio

from bench.scratch import interruptible, release
from platform_api.config import Settings
from scripts import stack
from scripts.processes import ManagedProcess, free_port

SECRET = "bench-secret-0123456789abcdef0123456789abcdef"


async def timed(n: int, concurrency: int, call: "object") -> tuple[float, list[float]]:
    latencies: list[float] = []
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with sem:
            t0 = time.perf_counter()
            await call(i)  # type: ignore[operator]
            latencies.append(time.perf_counter() - t0)

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    return time.perf_counter() - start, latencies


def report(name: str, n: int, elapsed: float, latencies: list[float]) -> None:
    q = statistics.quantiles(latencies, n=100)
    print(
        f"{name:<28} {n / elapsed:8.1f}/s   p50 {q[49] * 1000:6.1f} ms   p95 {q[94] * 1000:6.1f} ms   ({n} calls)"
    )


async def run(requests: int, concurrency: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    engine_port, platform_port, chat_port = free_port(), free_port(), free_port()
    env = {
        "ENVIRONMENT": "test",
        "MONGODB_URI": stack.mongodb_uri(engine_port),
        "MONGODB_DB": "bench",
        "JWT_SECRET": SECRET,
        "LOG_LEVEL": "WARNING",
        "HTTP_RATE_LIMITS": "false",  # one address logging in thousands of times: measuring, not limiting
        "CHAT_INTERNAL_URL": f"http://127.0.0.1:{chat_port}",
    }
    procs: list[ManagedProcess] = []
    try:
        # Appended before starting: a signal while one starts still stops it (ManagedProcess.kill).
        for proc in (
            stack.engine(engine_port, tmp / "mongo", tmp),
            stack.platform(platform_port, env, tmp),
            stack.chat(chat_port, env, tmp),
        ):
            procs.append(proc)
            proc.start()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{platform_port}/api/v1", timeout=30) as api:
            emails = [f"bench-{uuid.uuid4().hex[:8]}@example.com" for _ in range(max(requests // 10, 10))]
            pw = "bench password 123"

            async def register(i: int) -> None:
                r = await api.post(
                    "/auth/register",
                    json={
                        "email": emails[i],
                        "password": pw,
                        "role": "customer",
                        "display_name": "B",
                        "accepted_terms_version": Settings.model_fields["terms_version"].default,
                        "accepted_privacy_version": Settings.model_fields["privacy_version"].default,
                    },
                )
                assert r.status_code == 201, r.text

            elapsed, lat = await timed(len(emails), concurrency, register)
            report("register (argon2 hash)", len(emails), elapsed, lat)

            async def login(i: int) -> None:
                r = await api.post("/auth/login", json={"email": emails[i % len(emails)], "password": pw})
                assert r.status_code == 200

            elapsed, lat = await timed(len(emails), concurrency, login)
            report("login (argon2 verify)", len(emails), elapsed, lat)

            token = (await api.post("/auth/login", json={"email": emails[0], "password": pw})).json()[
                "access_token"
            ]
            headers = {"Authorization": f"Bearer {token}"}

            async def me(_: int) -> None:
                r = await api.get("/auth/me", headers=headers)
                assert r.status_code == 200

            elapsed, lat = await timed(requests, concurrency, me)
            report("GET /auth/me (session check)", requests, elapsed, lat)

        async def connect(_: int) -> None:
            client = socketio.AsyncClient(reconnection=False)
            await client.connect(
                f"http://127.0.0.1:{chat_port}", auth={"token": token}, transports=["websocket"]
            )
            await client.disconnect()

        n = max(requests // 5, 20)
        elapsed, lat = await timed(n, concurrency, connect)
        report("socket connect+auth", n, elapsed, lat)
    finally:
        release(tmp, procs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    interruptible(lambda: asyncio.run(run(args.requests, args.concurrency)))


if __name__ == "__main__":
    main()
