"""What the dev launcher prints: where everything is, and commands that work as printed from the repo root in
a fresh shell (no activated venv, nothing exported: `python` may be another interpreter, or none)."""

import json
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlencode

from platform_api.config import Settings
from scripts.seed import (
    CARD_PROVIDER,
    DEMO_CUSTOMER,
    DEMO_PASSWORD,
    DEMO_PROVIDERS,
    DemoLogin,
    PaidBooking,
)
from shared_models.documents.payments import PaymentIntentStatus
from shared_models.enums import RequestState

ROOT = Path(__file__).resolve().parent.parent
# Every command line starts so, and nothing else does: the launcher test runs each one as printed.
PROMPT = "  $ "


def python() -> str:
    """This interpreter as the repo root reaches it: `.venv/bin/python` when started by run.sh."""
    exe = Path(sys.executable)
    return str(exe.relative_to(ROOT)) if exe.is_relative_to(ROOT) else str(exe)


def command(*argv: str, env: dict[str, str] | None = None) -> str:
    assigned = [f"{name}={shlex.quote(value)}" for name, value in (env or {}).items()]
    return PROMPT + " ".join([*assigned, *(shlex.quote(arg) for arg in argv)])


def demo(settings: Settings, logins: list[DemoLogin], paid: Sequence[PaidBooking] = ()) -> str:
    api = f"http://127.0.0.1:{settings.port}{settings.api_prefix}"
    lines = [f"\nDemo accounts (password for all: {DEMO_PASSWORD}):"]
    lines += [f"  {login.role.value:<9} {login.email:<32} {login.note}" for login in logins]
    lines.append("Log in (the answer's access_token is the Bearer token):")
    body = json.dumps({"email": DEMO_CUSTOMER, "password": DEMO_PASSWORD})
    json_body = ["-H", "Content-Type: application/json", "-d", body]  # -d: curl POSTs
    lines.append(command("curl", "-s", f"{api}/auth/login", *json_body))
    lines.append(
        "\nDemo providers: where they serve (search by the place, or by lat and lng) and their tier:"
    )
    for provider in DEMO_PROVIDERS:
        lines.append(
            f"  {provider.business:<22} {provider.tier.value:<8} {provider.place:<14} "
            f"lat {provider.lat}, lng {provider.lng}  (serves {provider.radius_km:g} km around)"
        )
        query = urlencode({"q": provider.place, "category": provider.categories[0].value})
        lines.append(command("curl", "-s", f"{api}/search/providers?{query}"))
    return "\n".join(lines + card_payments(api, paid))


def _money(amount: int, currency: str) -> str:
    return f"{currency} {amount / 100:.2f}"


def card_payments(api: str, paid: Sequence[PaidBooking]) -> list[str]:
    """The card-paid demo bookings, and how to accept the authorised one and watch its capture."""
    if not paid:
        return []
    business = next(p.business for p in DEMO_PROVIDERS if p.email == CARD_PROVIDER)
    lines = [
        f"\nCard payments (Stripe Connect): {business} is onboarded (charges enabled); bookings the demo "
        "customer paid by card:"
    ]
    lines += [
        f"  {b.request_id}  {b.state.value:<9} payment {b.payment_status.value:<16} "
        f"{_money(b.amount, b.currency)} (platform fee {_money(b.application_fee_amount, b.currency)})  "
        f"{b.description}"
        for b in paid
    ]
    authorised = next(
        (
            b
            for b in paid
            if b.state is RequestState.requested and b.payment_status is PaymentIntentStatus.requires_capture
        ),
        None,
    )
    shown = authorised or paid[0]
    bearer = ["-H", "Authorization: Bearer TOKEN"]
    if authorised is not None:
        lines.append(
            f"Accept the authorised one as {CARD_PROVIDER} (TOKEN: the access_token of its login) and the "
            "platform captures the card:"
        )
        lines.append(
            command("curl", "-s", "-X", "POST", f"{api}/requests/{authorised.request_id}/accept", *bearer)
        )
    lines.append(
        "Its payment (status, amount, platform fee, what was captured), for the customer or the provider: "
        "`succeeded` once Stripe's webhook has told the platform:"
    )
    lines.append(command("curl", "-s", f"{api}/requests/{shown.request_id}/payment", *bearer))
    return lines


def stripe_complete(settings: Settings) -> str:
    # Named in the command when it is not the default: it may have been given to run.sh alone.
    env: dict[str, str] = {}
    if (
        settings.stripe_api_base
        and settings.stripe_api_base != Settings.model_fields["stripe_api_base"].default
    ):
        env["STRIPE_API_BASE"] = settings.stripe_api_base
    return command(python(), "-m", "scripts.stripe_dev", "complete", "SESSION_ID", env=env)


def running(settings: Settings, data: Path, logs: Path) -> str:
    base = f"http://127.0.0.1:{settings.port}"
    checkout = ""
    if settings.stripe_api_base:
        checkout = (
            f"\nPay at the local Stripe's Checkout (SESSION_ID from POST {settings.api_prefix}/billing/"
            f"checkout-session):\n{stripe_complete(settings)}"
        )
    return f"""
Everything is up (logs in {logs}):
  Platform API     {base}{settings.api_prefix}
  Admin console    {base}/admin/  (for admins: disputes, users, providers, audit log)
  Swagger console  {base}/docs
  Readiness        {base}/readyz
  Chat server      {settings.chat_url}  (Socket.IO; health at {settings.chat_url}/healthz)
  Database         {settings.mongodb_uri}
  S3 (moto)        {settings.s3_endpoint_url}  bucket {settings.s3_bucket}, kept in {data / "s3"}
  Stripe           {settings.stripe_api_base or "Stripe itself (STRIPE_API_BASE is unset)"}
  Mail sink        smtp://{settings.smtp_host}:{settings.smtp_port}  → {data / "mail"}{checkout}
Press Ctrl-C to stop."""
