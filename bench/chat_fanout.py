"""Chat fan-out: our chat server against a Node.js server doing the same work and against bare python-socketio.

    .venv/bin/python -m bench.chat_fanout [--pairs 50] [--messages 100] [--warmup 5] [--only ours persisting]

Starts nx-27017, seeds `pairs` conversations (a customer and a provider each, with session tokens), and drives
every server in turn with bench/reference/load.mjs (socket.io-client): each of the 2 x pairs clients sends
`messages` messages, each waiting for its ack, and the other participant receives message:new. After an
untimed warm-up round per server, prints deliveries/s and p50/p99 send→delivery latency of:
- ours: the chat server (JWT per socket; per message validation, rate limit, membership, a place in the
  conversation, a durable write, ordered delivery, notification decision; conversation activity coalesced);
- Node persisting (bench/reference/persisting.mjs): the seed's architecture in Node.js on the official
  `mongodb` driver (per message a membership read, an insert, a conversation update), same engine and database;
- bare python-socketio (bench/reference/ceiling.py): same events, no auth, no database, with the same uvicorn
  options as ours (no per-message deflate);
- informational: the same bare server on uvicorn's defaults (per-message deflate on), and Node in-memory
  (bench/reference/server.mjs: same events, no auth, no database);
then ours / bare python-socketio and ours / Node persisting (deliveries/s) and our p99 / bare python-socketio
p99, each beside its goal. Needs `npm ci --prefix bench/reference` (run for you when node_modules is missing).
Prints figures; asserts nothing, and exits 0 whatever they are. Removes its scratch folder when it ends.
"""

import argparse
import asyncio
import json
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from beanie import PydanticObjectId

from bench.fixtures import make_user
from bench.scratch import interruptible, release
from scripts import stack
from scripts.processes import ManagedProcess, free_port, port_open
from shared_models.clock import SystemClock
from shared_models.documents import Conversation
from shared_models.enums import Role
from shared_models.ids import sortable_key
from shared_models.runtime.registry import connect, init_models
from shared_models.services.sessions import issue_token

REFERENCE = Path(__file__).resolve().parent / "reference"
SECRET = "bench-secret-0123456789abcdef0123456789abcdef"
DB = "bench"
RATE = "deliveriesPerSecond"
Result = dict[str, float | None]  # load.mjs reports null percentiles when nothing was delivered


@dataclass
class Server:
    key: str  # what --only names
    label: str
    make: Callable[[int], ManagedProcess]  # port -> a process not yet started


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


def servers(engine_port: int, env: dict[str, str], tmp: Path) -> list[Server]:
    def node(
        name: str, script: str, *args: str, extra_env: dict[str, str] | None = None
    ) -> Callable[[int], ManagedProcess]:
        return lambda port: ManagedProcess(
            name=name,
            argv=["node", str(REFERENCE / script), str(port), *args],
            env=extra_env,
            ready=lambda: port_open(port),
            log_path=tmp / f"{name}.log",
        )

    def ceiling(name: str, options: tuple[str, ...]) -> Callable[[int], ManagedProcess]:
        def make(port: int) -> ManagedProcess:
            argv = [sys.executable, "-m", "uvicorn", "bench.reference.ceiling:app", "--port", str(port)]
            return ManagedProcess(
                name=name,
                argv=[*argv, "--no-access-log", "--log-level", "warning", *options],
                ready=lambda: port_open(port),
                log_path=tmp / f"{name}.log",
            )

        return make

    uri = stack.mongodb_uri(engine_port)
    return [
        Server("ours", "ours (python-socketio)", lambda port: stack.chat(port, env, tmp)),
        Server(
            "persisting",
            "Node persisting",
            # The secret through the environment, not argv, so `ps` does not show it.
            node("persisting", "persisting.mjs", uri, DB, extra_env={"JWT_SECRET": SECRET}),
        ),
        # The ceiling runs with exactly our server's uvicorn options (no per-message deflate): a transport
        # setting that speeds both up must not count as ours. uvicorn's defaults are shown for reference.
        Server("ceiling", "bare python-socketio", ceiling("ceiling", stack.CHAT_UVICORN_OPTIONS)),
        Server("defaults", "bare p-socketio, deflate (info)", ceiling("defaults", ())),
        Server("memory", "Node in-memory (info)", node("memory", "server.mjs")),
    ]


def load(url: str, clients: list[dict[str, str]], messages: int) -> Result:
    done = subprocess.run(
        ["node", str(REFERENCE / "load.mjs")],
        input=json.dumps({"url": url, "clients": clients, "messages": messages}),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode == -signal.SIGINT:
        # Ctrl-C reaches the load generator too (same process group): the run was interrupted, the server
        # did not fail.
        raise KeyboardInterrupt
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"load.mjs exited with {done.returncode}: {last}")
    result: Result = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(
    server: Server, procs: list[ManagedProcess], clients: list[dict[str, str]], args: argparse.Namespace
) -> Result | str:
    """One server's figures, or why there are none: a server that fails to start or to serve is reported, and
    the others are still measured. Each server runs alone, stopped before the next starts."""
    port = free_port()
    proc = server.make(port)
    procs.append(proc)
    try:
        proc.start()
        url = f"http://127.0.0.1:{port}"
        if args.warmup > 0:
            load(url, clients, args.warmup)
        return load(url, clients, args.messages)
    except (RuntimeError, TimeoutError, subprocess.TimeoutExpired, json.JSONDecodeError) as error:
        return f"{type(error).__name__}: {error}{log_tail(proc)}"
    finally:
        proc.stop(timeout=3)


def log_tail(proc: ManagedProcess, lines: int = 5) -> str:
    # The log lives in the scratch folder, removed at the end: show its end now.
    if proc.log_path is None or not proc.log_path.exists():
        return ""
    tail = proc.log_path.read_text(errors="replace").strip().splitlines()[-lines:]
    return "".join(f"\n    | {line}" for line in tail)


def figure(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def show(label: str, r: Result | str) -> None:
    if isinstance(r, str):
        print(f"{label:<24} failed: {r}")
        return
    print(
        f"{label:<24} {figure(r[RATE], ',.0f'):>9} deliveries/s   p50 {figure(r['p50'], '.1f'):>7} ms"
        f"   p99 {figure(r['p99'], '.1f'):>7} ms   ({figure(r['deliveries'], ',.0f')} deliveries"
        f" in {figure(r['seconds'], '.1f')}s, {figure(r['errors'], '.0f')} errors)"
    )


def ratio(label: str, results: dict[str, Result | str], a: str, b: str, field: str, goal: str) -> None:
    x, y = results.get(a), results.get(b)
    value = None
    if isinstance(x, dict) and isinstance(y, dict):
        top, bottom = x.get(field), y.get(field)
        value = top / bottom if top is not None and bottom else None
    print(f"{label:<42} {figure(value, '.2f'):>6}   (goal {goal})")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs", type=int, default=50, help="conversations; twice as many clients")
    parser.add_argument("--messages", type=int, default=100, help="measured messages per client")
    parser.add_argument("--warmup", type=int, default=5, help="untimed messages per client first; 0 for none")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=["ours", "persisting", "ceiling", "defaults", "memory"],
        help="measure only these servers",
    )
    args = parser.parse_args()
    if not (REFERENCE / "node_modules").exists():
        subprocess.run(["npm", "ci", "--prefix", str(REFERENCE), "--no-audit", "--no-fund"], check=True)
    tmp = Path(tempfile.mkdtemp(prefix="bench-chat-"))
    engine_port = free_port()
    env = {
        "ENVIRONMENT": "test",
        "MONGODB_URI": stack.mongodb_uri(engine_port),
        "MONGODB_DB": DB,
        "JWT_SECRET": SECRET,
        "LOG_LEVEL": "WARNING",
        "CHAT_MESSAGE_RATE": "1000000/1 second",
    }
    procs: list[ManagedProcess] = [stack.engine(engine_port, tmp / "mongo", tmp)]
    results: dict[str, Result | str] = {}
    try:
        procs[0].start()
        clients = asyncio.run(make_pairs(env["MONGODB_URI"], DB, args.pairs))
        print(
            f"{len(clients)} clients in {args.pairs} conversations, {args.messages} messages each, acked one by one"
            f" (after {args.warmup} untimed each); one server at a time, all on this machine's cores"
        )
        for server in servers(engine_port, env, tmp):
            if args.only is None or server.key in args.only:
                results[server.key] = measure(server, procs, clients, args)
                show(server.label, results[server.key])
        ratio("ours / bare python-socketio, deliveries/s", results, "ours", "ceiling", RATE, "≥ 0.5")
        ratio("ours / Node persisting, deliveries/s", results, "ours", "persisting", RATE, "≥ 1.0")
        ratio("our p99 / bare python-socketio p99", results, "ours", "ceiling", "p99", "≤ 2.0")
    finally:
        release(tmp, procs)


if __name__ == "__main__":
    interruptible(main)
