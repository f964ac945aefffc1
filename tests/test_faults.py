"""Fault injection against real processes: the database engine killed mid-traffic, the chat server killed
mid-conversation, Redis gone from under both services. Each waits on conditions, never on fixed sleeps."""

import asyncio
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pymongo import AsyncMongoClient

from scripts import stack
from scripts.processes import ManagedProcess, free_port, port_open, wait_until
from shared_models.enums import Role
from tests.chat_server.clients import JsClient
from tests.chat_server.test_chat import new_account, pair, send
from tests.conftest import LiveStack, service_env
from tests.factories import API, PASSWORD, register_payload

pytestmark = pytest.mark.e2e


@dataclass
class Tally:
    statuses: Counter[int]
    codes: Counter[str]
    created: list[str]


async def sign_ups(client: httpx.AsyncClient, tally: Tally, stop: asyncio.Event) -> None:
    """One stream of sign-ups, as fast as the platform answers, until told to stop."""
    while not stop.is_set():
        payload = register_payload(Role.customer)
        response = await client.post(f"{API}/auth/register", json=payload)
        tally.statuses[response.status_code] += 1
        if response.status_code == 201:
            tally.created.append(payload["email"])
        elif response.headers.get("content-type", "").startswith("application/json"):
            tally.codes[response.json().get("error", {}).get("code", "untyped")] += 1
        else:
            tally.codes["untyped"] += 1


async def until(condition: Callable[[], bool], within: float = 60) -> None:
    """Poll a condition of the running traffic (not a fixed sleep): returns as soon as it holds."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - the condition is a counter the traffic tasks update
            await asyncio.sleep(0.05)


async def test_the_engine_killed_mid_traffic_gives_503s_then_recovers_with_no_partial_writes(
    tmp_path: Path, stripe_api: str, s3: str
) -> None:
    port = free_port()
    engine = stack.engine(port, tmp_path / "mongo", tmp_path).start()
    env = {**service_env(stack.mongodb_uri(port), "faults", stripe_api, s3), "MONGODB_TIMEOUT_MS": "500"}
    platform = stack.platform(free_port(), env, tmp_path).start()
    url = f"http://127.0.0.1:{platform.argv[platform.argv.index('--port') + 1]}"
    tally, stop = Tally(Counter(), Counter(), []), asyncio.Event()
    try:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            streams = [asyncio.create_task(sign_ups(client, tally, stop)) for _ in range(4)]
            await until(lambda: tally.statuses[201] >= 8)
            engine.kill()
            await until(lambda: tally.statuses[503] >= 8)
            assert (await client.get("/readyz")).status_code == 503
            before_restart = tally.statuses[201]
            engine.start()
            await until(lambda: tally.statuses[201] >= before_restart + 8)
            stop.set()
            await asyncio.gather(*streams)
            assert platform.running, "the platform recovered without a restart"
            assert (await client.get("/readyz")).status_code == 200
            assert set(tally.statuses) <= {201, 503}, tally.statuses  # never a 500
            assert set(tally.codes) == {"database_unavailable"}, tally.codes  # every failure typed
            for email in tally.created[
                :: max(1, len(tally.created) // 6)
            ]:  # every acknowledged sign-up holds
                login = await client.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD})
                assert login.status_code == 200, (email, login.text)
        # No partial write is usable: every complete account has both consents; incomplete ones cannot log in
        # and are swept.
        mongo: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(stack.mongodb_uri(port))
        db = mongo["faults"]
        users = await db["users"].find({}).to_list()
        consents = await db["consent_ledger"].find({}).to_list()
        await mongo.close()
        kinds: dict[str, set[str]] = {}
        for record in consents:
            kinds.setdefault(str(record["user_id"]), set()).add(str(record["kind"]))
        for user in users:
            if user.get("complete", True):
                assert {"terms", "privacy"} <= kinds.get(str(user["_id"]), set()), user["email"]
        assert {u["email"] for u in users if u.get("complete", True)} >= set(tally.created)
    finally:
        platform.stop()
        engine.stop()


async def test_the_chat_server_killed_mid_conversation_clients_reconnect_and_catch_up_over_rest(
    live_stack: LiveStack, tmp_path: Path
) -> None:
    """The app's recovery path with the official client: it reconnects by itself once the server is back,
    joins again, and loads what it missed over REST."""
    port = free_port()
    env = {**service_env(live_stack.mongodb_uri, live_stack.db_name), "CHAT_URL": f"http://127.0.0.1:{port}"}
    chat = stack.chat(port, env, tmp_path).start()
    url = f"http://127.0.0.1:{port}"
    alice, bob = JsClient(), JsClient()
    try:
        async with httpx.AsyncClient(base_url=live_stack.platform_url, timeout=20) as rest:
            customer, provider, conversation_id = await pair(rest)
            # Bob's app retries at once; Alice's backs off longer, so she misses what Bob sends meanwhile.
            assert (await alice.connect(url, customer.token, reconnect_ms=1500))["type"] == "connect"
            assert (await bob.connect(url, provider.token, reconnect_ms=50))["type"] == "connect"
            for client in (alice, bob):
                assert (await client.emit("conversation:join", {"conversationId": conversation_id}))["ok"]
            assert (await alice.emit("message:send", send(conversation_id, "before the crash")))["ok"]
            assert (await bob.inbox.expect("message:new"))["body"] == "before the crash"

            chat.kill()
            assert (await alice.next_status())["type"] == "disconnect"
            assert (await bob.next_status())["type"] == "disconnect"
            chat.start()
            await bob.reconnected()  # by itself (no new client), after refused attempts while it was down
            assert (await bob.emit("conversation:join", {"conversationId": conversation_id}))["ok"]
            sent = await bob.emit("message:send", send(conversation_id, "while you were away"))
            assert sent["ok"] is True
            await alice.reconnected()
            assert (await alice.emit("conversation:join", {"conversationId": conversation_id}))["ok"]
            history = await rest.get(
                f"{API}/conversations/{conversation_id}/messages", headers=customer.bearer
            )
            assert [m["body"] for m in history.json()["items"]][:2] == [
                "while you were away",
                "before the crash",
            ]
            assert (await alice.emit("message:send", send(conversation_id, "back")))["ok"]
            assert (await bob.inbox.expect("message:new"))["body"] == "back"  # live again
    finally:
        await alice.close()
        await bob.close()
        chat.stop()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[ManagedProcess]:
    """A private Redis the test may kill (never the machine's shared one)."""
    port = free_port()
    server = ManagedProcess(
        name="redis",
        argv=["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        ready=lambda: port_open(port),
        log_path=tmp_path / "redis.log",
    )
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed on this machine (CI always has it)")
    yield server.start()
    server.stop()


async def test_redis_down_degrades_both_services_without_crashing(
    live_stack: LiveStack, redis_server: ManagedProcess, tmp_path: Path, stripe_api: str, s3: str
) -> None:
    redis_url = f"redis://127.0.0.1:{redis_server.argv[2]}/0"
    env = {
        **service_env(live_stack.mongodb_uri, live_stack.db_name, stripe_api, s3),
        "REDIS_URL": redis_url,
        "HTTP_RATE_LIMITS": "true",
    }
    platform_port, chat_port = free_port(), free_port()
    platform = stack.platform(platform_port, env, tmp_path).start()
    chat = stack.chat(chat_port, env, tmp_path).start()
    chat_url = f"http://127.0.0.1:{chat_port}"
    client = JsClient()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{platform_port}", timeout=20) as api:
            account = await new_account(api, Role.customer)
            redis_server.kill()
            # The platform: limits fall back to per-process counting; nothing fails because Redis did.
            for _ in range(3):
                login = await api.post(
                    f"{API}/auth/login", json={"email": account.email, "password": PASSWORD}
                )
                assert login.status_code == 200, login.text
            ready = (await api.get("/readyz")).json()
            assert ready["status"] == "ready" and ready["checks"]["redis"].startswith("degraded")
            # The chat server needs Redis for rooms and presence across instances: it says so clearly.
            refused = await client.connect(chat_url, account.token)
            assert refused["type"] == "connect_error" and refused["message"] == "service_unavailable", refused
            async with httpx.AsyncClient(base_url=chat_url, timeout=20) as chat_http:
                down = await chat_http.get("/readyz")
                assert down.status_code == 503 and down.json()["checks"]["redis"].startswith("unavailable")
                assert platform.running and chat.running  # no crash, no restart loop
                redis_server.start()
                wait_until(lambda: httpx.get(f"{chat_url}/readyz").status_code == 200, 30, "chat ready")
            await client.close()
            client = JsClient()
            assert (await client.connect(chat_url, account.token))["type"] == "connect"
            assert (await api.get("/readyz")).json()["checks"]["redis"] == "ok"
    finally:
        await client.close()
        chat.stop()
        platform.stop()
