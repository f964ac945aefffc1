"""The README's run command: the launcher brings everything up as real processes, and Ctrl-C stops it all."""

import json
import os
import re
import signal
import struct
import subprocess
import zlib
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from scripts.dev_guide import PROMPT
from scripts.processes import free_port, port_open, wait_until
from scripts.seed import CARD_PROVIDER, DEMO_ACCOUNTS, DEMO_CUSTOMER, DEMO_PASSWORD, DEMO_PROVIDERS

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent
# The demo customer's bookings, newest first: the card provider's two paid ones (the authorised one, the
# captured one), then the disputed, the accepted (unpaid) and the requested one.
SEEDED_STATES = ["requested", "accepted", "disputed", "accepted", "requested"]


class Launcher:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.ports = {name: free_port() for name in ("engine", "platform", "chat", "s3", "smtp", "stripe")}
        self.given = {
            "PORT": str(self.ports["platform"]),
            "CHAT_URL": f"http://127.0.0.1:{self.ports['chat']}",
            "CHAT_INTERNAL_URL": f"http://127.0.0.1:{self.ports['chat']}",
            "S3_ENDPOINT_URL": f"http://127.0.0.1:{self.ports['s3']}",
            "SMTP_PORT": str(self.ports["smtp"]),
            "STRIPE_API_BASE": f"http://127.0.0.1:{self.ports['stripe']}",
        }
        self.env = {**os.environ, **self.given}
        self.env.pop("MONGODB_URI", None)
        self.output = data_dir / "launcher.out"

    def run(self, *args: str) -> subprocess.Popen[bytes]:
        with self.output.open("wb") as out:
            proc = subprocess.Popen(
                [
                    # The README's run command itself (its install step finds everything installed already).
                    "bash",
                    "scripts/run.sh",
                    "--data-dir",
                    str(self.data_dir),
                    "--engine-port",
                    str(self.ports["engine"]),
                    *args,
                ],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_until(lambda: "Press Ctrl-C" in self.text() or proc.poll() is not None, 90, "the launcher")
        assert proc.poll() is None, self.text()
        return proc

    def text(self) -> str:
        return self.output.read_text() if self.output.exists() else ""

    def stop(self, proc: subprocess.Popen[bytes]) -> int:
        proc.send_signal(signal.SIGINT)
        return proc.wait(30)

    def commands(self) -> list[str]:
        return [line.removeprefix(PROMPT) for line in self.text().splitlines() if line.startswith(PROMPT)]

    def run_as_printed(self, command: str) -> str:
        """In a shell where only run.sh has run: no activated venv, and the variables given to the launcher
        were given to it alone (a printed command that needs one must say so)."""
        venv = str(ROOT / ".venv")
        path = [entry for entry in os.environ.get("PATH", "").split(os.pathsep) if not entry.startswith(venv)]
        env = {name: value for name, value in os.environ.items() if name not in {*self.given, "VIRTUAL_ENV"}}
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=ROOT,
            env={**env, "PATH": os.pathsep.join(path)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        return done.stdout


def login(base: str, email: str) -> httpx.Response:
    return httpx.post(
        f"{base}/api/v1/auth/login", json={"email": email, "password": DEMO_PASSWORD}, timeout=10
    )


def bearer_of(base: str, email: str) -> dict[str, str]:
    session = login(base, email)
    assert session.status_code == 200, session.text
    return {"Authorization": f"Bearer {session.json()['access_token']}"}


def demo_request_states(base: str) -> list[str]:
    page = httpx.get(
        f"{base}/api/v1/requests", headers=bearer_of(base, "customer@demo.example.com"), timeout=10
    ).json()
    return [item["state"] for item in page["items"]]


def png(width: int = 3, height: int = 2) -> bytes:
    """A genuine PNG (signature, IHDR, IDAT, IEND, each chunk with its CRC): any file-type check accepts it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes([200, 120, 40]) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def upload(base: str, bearer: dict[str, str], content: bytes) -> str:
    """As the app uploads: a presigned POST straight to storage, then confirm. Returns the media id."""
    started = httpx.post(
        f"{base}/api/v1/media/uploads",
        json={"filename": "tap.png", "content_type": "image/png", "size": len(content)},
        headers=bearer,
        timeout=10,
    )
    assert started.status_code == 201, started.text
    form = started.json()
    stored = httpx.post(
        form["url"], data=form["fields"], files={"file": ("tap.png", content, "image/png")}, timeout=10
    )
    assert stored.status_code in (200, 201, 204), stored.text
    media_id: str = form["media"]["id"]
    confirmed = httpx.post(f"{base}/api/v1/media/uploads/{media_id}/confirm", headers=bearer, timeout=10)
    assert confirmed.status_code == 200, confirmed.text
    return media_id


def download(base: str, bearer: dict[str, str], media_id: str) -> bytes:
    link = httpx.get(f"{base}/api/v1/media/{media_id}/download", headers=bearer, timeout=10)
    assert link.status_code == 200, link.text
    got = httpx.get(link.json()["url"], timeout=10)
    assert got.status_code == 200, got.text
    return got.content


def subscribe_as_the_readme_says(launcher: Launcher, base: str) -> str:
    """README: checkout session → simulated completion (the command the launcher prints, as printed) → signed
    webhook → the stored tier."""
    registered = httpx.post(
        f"{base}/api/v1/auth/register",
        json={
            "email": "new-provider@example.com",
            "password": DEMO_PASSWORD,
            "role": "provider",
            "display_name": "Nia",
            "accepted_terms_version": "2026-11-01",
            "accepted_privacy_version": "2026-11-01",
            "provider": {"business_name": "Nia's Gardens", "categories": ["gardening"]},
        },
        timeout=10,
    )
    assert registered.status_code == 201, registered.text
    bearer = {"Authorization": f"Bearer {registered.json()['access_token']}"}
    session = httpx.post(f"{base}/api/v1/billing/checkout-session", json={"tier": "pro"}, headers=bearer)
    assert session.status_code == 200, session.text
    [complete] = [command for command in launcher.commands() if "scripts.stripe_dev complete" in command]
    done = launcher.run_as_printed(complete.replace("SESSION_ID", session.json()["session_id"]))
    assert "checkout.session.completed" in done
    subscription = httpx.get(f"{base}/api/v1/billing/subscription", headers=bearer).json()
    assert subscription["status"] == "active", subscription
    tier: str = subscription["tier"]
    return tier


def the_demo_providers_are_where_the_launcher_says(launcher: Launcher, base: str) -> None:
    """Each demo provider's line names its tier, a place and coordinates; a search at either finds it."""
    printed = launcher.text()
    for provider in DEMO_PROVIDERS:
        [line] = [line for line in printed.splitlines() if line.strip().startswith(provider.business)]
        assert provider.tier.value in line and provider.place in line, line
        assert f"lat {provider.lat}, lng {provider.lng}" in line, line
        at_the_point = httpx.get(
            f"{base}/api/v1/search/providers", params={"lat": provider.lat, "lng": provider.lng}, timeout=10
        ).json()
        assert (provider.business, provider.tier.value) in {
            (hit["business_name"], hit["tier"]) for hit in at_the_point["items"]
        }
        [search] = [c for c in launcher.commands() if urlencode({"q": provider.place}) in c]
        found = json.loads(launcher.run_as_printed(search))
        assert [(hit["business_name"], hit["tier"]) for hit in found["items"]] == [
            (provider.business, provider.tier.value)
        ]


def the_paid_bookings_are_as_the_launcher_says(launcher: Launcher, base: str) -> None:
    """The captured booking's payment reads `succeeded` with its amount and fee; accepting the authorised one
    with the printed command captures it, and the printed payment command shows it once Stripe's webhook
    (sent by the stand-in to the platform) has arrived."""
    listed = re.findall(r"^  ([0-9a-f]{24})  (\w+) +payment (\w+) ", launcher.text(), re.MULTILINE)
    assert sorted((state, status) for _, state, status in listed) == [
        ("accepted", "succeeded"),
        ("requested", "requires_capture"),
    ], listed
    [(captured, _, _)] = [entry for entry in listed if entry[1] == "accepted"]
    [(authorised, _, _)] = [entry for entry in listed if entry[1] == "requested"]
    customer = bearer_of(base, DEMO_CUSTOMER)
    paid = httpx.get(f"{base}/api/v1/requests/{captured}/payment", headers=customer, timeout=10).json()
    assert (paid["status"], paid["currency"], paid["amount_received"]) == ("succeeded", "GBP", paid["amount"])
    assert paid["amount"] > 0 and paid["application_fee_amount"] > 0, paid

    token = login(base, CARD_PROVIDER).json()["access_token"]
    [accept] = [c for c in launcher.commands() if c.endswith("TOKEN'") and f"/{authorised}/accept" in c]
    [payment] = [c for c in launcher.commands() if f"/{authorised}/payment" in c]
    assert json.loads(launcher.run_as_printed(accept.replace("TOKEN", token)))["state"] == "accepted"

    def captured_now() -> bool:
        shown = json.loads(launcher.run_as_printed(payment.replace("TOKEN", token)))
        return bool(shown["status"] == "succeeded" and shown["amount_received"] == shown["amount"])

    wait_until(captured_now, 60, "the capture's webhook to reach the platform")


def the_printed_login_works_as_printed(launcher: Launcher) -> None:
    [command] = [command for command in launcher.commands() if "/auth/login" in command]
    session = json.loads(launcher.run_as_printed(command))
    assert session["user"]["email"] == DEMO_CUSTOMER and session["access_token"]


def test_run_command_brings_up_both_services_and_stops_cleanly(tmp_path: Path) -> None:
    launcher = Launcher(tmp_path)
    base = f"http://127.0.0.1:{launcher.ports['platform']}"
    proc = launcher.run("--demo")
    try:
        assert f"{base}/docs" in launcher.text() and "admin@demo.example.com" in launcher.text()
        assert httpx.get(f"{base}/readyz").status_code == 200
        # A login as each demo account first: the ones this test makes after it still get in (dev's limit).
        for email in DEMO_ACCOUNTS:
            assert login(base, email).status_code == 200, email
        docs = httpx.get(f"{base}/docs")
        assert docs.status_code == 200
        spec = httpx.get(f"{base}/openapi.json").json()
        assert "/api/v1/auth/login" in spec["paths"]
        assert httpx.get(f"http://127.0.0.1:{launcher.ports['chat']}/healthz").status_code == 200
        buckets = httpx.get(f"http://127.0.0.1:{launcher.ports['s3']}/moto-api/data.json").json()
        assert "marketplace-media" in json.dumps(buckets)
        assert demo_request_states(base) == SEEDED_STATES
        assert subscribe_as_the_readme_says(launcher, base) == "pro"
        customer = bearer_of(base, "customer@demo.example.com")
        photo = png()
        media_id = upload(base, customer, photo)
        assert download(base, customer, media_id) == photo
        # The scheduler's relay and mail jobs run in the platform process: the demo's booking and billing
        # events became notifications, and the offline providers were mailed (through the SMTP sink).
        token = login(base, "sparkle@demo.example.com").json()["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}

        def notified() -> bool:
            items = httpx.get(f"{base}/api/v1/notifications", headers=bearer, timeout=10).json()["items"]
            return {"request_created", "subscription_activated"} <= {n["type"] for n in items}

        wait_until(notified, 30, "the relay to notify the demo provider")
        wait_until(lambda: any((launcher.data_dir / "mail").glob("*.eml")), 30, "the mail job to send")
        near_demo = httpx.get(
            f"{base}/api/v1/search/providers", params={"q": "London, GB"}, timeout=10
        ).json()
        assert {hit["tier"] for hit in near_demo["items"]} == {
            "premium",
            "pro",
            "basic",
        }  # the demo providers
        the_demo_providers_are_where_the_launcher_says(launcher, base)
        the_printed_login_works_as_printed(launcher)
        the_paid_bookings_are_as_the_launcher_says(launcher, base)
        # Each command the launcher printed ran above as printed: the checkout, the searches, the login, the
        # acceptance of the authorised booking and its payment.
        assert len(launcher.commands()) == 1 + len(DEMO_PROVIDERS) + 1 + 2, launcher.commands()
    finally:
        code = launcher.stop(proc)
    assert code == 0, launcher.text()
    assert "stopped." in launcher.text()
    for port in launcher.ports.values():
        assert not port_open(port), f"port {port} still open after Ctrl-C"

    # A second run reuses the data: the demo seed is idempotent, the accounts are still there, and so is
    # the upload (the S3 stand-in replays what it recorded under the data dir).
    proc = launcher.run("--demo")
    try:
        assert login(base, "admin@demo.example.com").json()["user"]["role"] == "admin"
        # Seeded once, not twice (the first run accepted the authorised booking).
        assert demo_request_states(base) == ["accepted", *SEEDED_STATES[1:]]
        listed = re.findall(r"^  [0-9a-f]{24}  (\w+) +payment (\w+) ", launcher.text(), re.MULTILINE)
        assert listed == [("accepted", "succeeded")] * 2, listed  # both captured now
        assert download(base, bearer_of(base, "customer@demo.example.com"), media_id) == photo
    finally:
        assert launcher.stop(proc) == 0
