"""Chat fan-out: our chat server against the Node.js Socket.IO reference, same load, one run.

    .venv/bin/python -m bench.chat_fanout [--pairs 50] [--messages 20]

N clients (pairs of customer and provider, one conversation each) all send `messages` messages with ack;
the other participant receives message:new. Prints deliveries/s and p50/p99 send→delivery for our server,
the Node.js reference and the framework ceiling (bare python-socketio, bench/reference/ceiling.py), and the
ratios. Ours authenticates every socket and stores every message; the other two keep nothing.
Needs `npm ci --prefix bench/reference` once. Prints figures; asserts nothing about speed.
"""

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from beanie import PydanticObjectId

from bench.fixtures import make_user
from scripts import stack
from scripts.processes import ManagedProcess, free_port, port_open
from shared_models import connect, init_models
from shared_models.clock import SystemClock
from shared_models.documents import Conversation
from shared_models.enums import Role
from shared_models.ids import sortable_key
from shared_models.sessions import issue_token

REFERENCE = Path(__file__).resolve().parent / "reference"
SECRET = "bench-secret-0123456789abcdef0123456789abcdef"


async def make_pairs(uri: str, db: str, pairs: int) -> list[dict[str, str]]:
    client = connect(uri, 10_000)
    await init_models(client, db)
    now = datetime.now(UTC)
    clients: list[dict[str, str]] = []
    for i in range(pairs):
        customer = await make_user(f"c{i}@bench.example.com", Role.customer, now)
        provider = await make_user(f"p{i}@bench.example.com", Role.provider, now)
        oid = PydanticObjectId()
        await Conversation(
            id=oid,
            customer_id=str(customer.id),
            provider_user_id=str(provider.id),
            provider_id=str(provider.id),
            pair_key=f"{customer.id}:{provider.id}",
            activity_key=sortable_key(now, oid),
            created_at=now,
        ).insert()
        for user in (customer, provider):
            token, _ = issue_token(user, SECRET, timedelta(hours=1), SystemClock())
            clients.append({"token": token, "conversationId": str(oid)})
    await client.close()
    return clients


def load(url: str, clients: list[dict[str, str]], messages: int) -> dict[str, float]:
    done = subprocess.run(
        ["node", str(REFERENCE / "load.mjs")],
        input=json.dumps({"url": url, "clients": clients, "messages": messages}),
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def show(name: str, r: dict[str, float]) -> None:
    print(
        f"{name:<22} {r['deliveriesPerSecond']:9,.0f} deliveries/s   p50 {r['p50']:7.1f} ms   p99 {r['p99']:7.1f} ms"
        f"   ({r['deliveries']:,.0f} deliveries in {r['seconds']:.1f}s, {r['errors']:.0f} errors)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=50)
    parser.add_argument("--messages", type=int, default=20)
    args = parser.parse_args()
    if not (REFERENCE / "node_modules").exists():
        subprocess.run(["npm", "ci", "--prefix", str(REFERENCE), "--no-audit", "--no-fund"], check=True)
    tmp = Path(tempfile.mkdtemp(prefix="bench-chat-"))
    engine_port, chat_port, ref_port, ceiling_port = free_port(), free_port(), free_port(), free_port()
    env = {
        "ENVIRONMENT": "test",
        "MONGODB_URI": stack.mongodb_uri(engine_port),
        "MONGODB_DB": "bench",
        "JWT_SECRET": SECRET,
        "LOG_LEVEL": "WARNING",
        "CHAT_MESSAGE_RATE": "1000000/1 second",
    }
    procs = [stack.engine(engine_port, tmp / "mongo", tmp).start()]
    try:
        procs.append(stack.chat(chat_port, env, tmp).start())
        procs.append(
            ManagedProcess(
                name="reference",
                argv=["node", str(REFERENCE / "server.mjs"), str(ref_port)],
                ready=lambda: port_open(ref_port),
                log_path=tmp / "reference.log",
            ).start()
        )
        procs.append(
            ManagedProcess(
                name="ceiling",
                argv=[
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "bench.reference.ceiling:app",
                    "--port",
                    str(ceiling_port),
                    "--no-access-log",
                    "--log-level",
                    "warning",
                ],
                ready=lambda: port_open(ceiling_port),
                log_path=tmp / "ceiling.log",
            ).start()
        )
        clients = asyncio.run(make_pairs(env["MONGODB_URI"], "bench", args.pairs))
        print(
            f"{len(clients)} clients in {args.pairs} conversations, {args.messages} messages each, acked one by one"
        )
        ours = load(f"http://127.0.0.1:{chat_port}", clients, args.messages)
        reference = load(f"http://127.0.0.1:{ref_port}", clients, args.messages)
        ceiling = load(f"http://127.0.0.1:{ceiling_port}", clients, args.messages)
        show("ours (python-socketio)", ours)
        show("reference (Node.js)", reference)
        show("ceiling (bare p-socketio)", ceiling)
        rate = "deliveriesPerSecond"
        print(f"ratio ours/reference deliveries/s: {ours[rate] / reference[rate]:.2f}")
        print(
            f"ratio ceiling/reference: {ceiling[rate] / reference[rate]:.2f} (what no change to our handlers can beat)"
        )
    finally:
        for proc in reversed(procs):
            proc.stop()


if __name__ == "__main__":
    main()
