"""Stripe Connect (Express): connected accounts, onboarding links, Express dashboard login links, and what
finishing or failing onboarding does (the hosted onboarding page and `/_fake/accounts/...`)."""

import copy
import html
import json
import secrets
import time
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from scripts.stripe_fake.api import page, resource
from scripts.stripe_fake.wire import Json, StripeError, choice, fixture, missing, new_id, no_such, public

if TYPE_CHECKING:
    from scripts.stripe_fake.app import FakeStripe

LINK_SECONDS = 300
# What Stripe asks a new Express account for before it may take charges (a typical individual's list).
ONBOARDING_DUE = [
    "business_profile.mcc",
    "business_profile.url",
    "business_type",
    "external_account",
    "individual.first_name",
    "individual.last_name",
    "tos_acceptance.date",
    "tos_acceptance.ip",
]
CURRENCIES = {"US": "usd", "GB": "gbp", "CA": "cad", "AU": "aud", "CH": "chf", "SE": "sek", "DK": "dkk"}
EXPRESS_CONTROLLER: Json = {
    "fees": {"payer": "application"},
    "is_controller": True,
    "losses": {"payments": "application"},
    "requirement_collection": "stripe",
    "stripe_dashboard": {"type": "express"},
    "type": "application",
}


def requirements(due: list[str], disabled_reason: str | None) -> Json:
    return {
        "alternatives": [],
        "current_deadline": None,
        "currently_due": list(due),
        "disabled_reason": disabled_reason,
        "errors": [],
        "eventually_due": list(due),
        "past_due": list(due),
        "pending_verification": [],
    }


def new_account(fake: "FakeStripe", params: Json) -> Json:
    controller = params.get("controller")
    kind = choice(params, "type", ("express", "standard", "custom"))
    if kind is None and not isinstance(controller, dict):
        raise missing("type")
    account_id = new_id("acct")
    country = str(params.get("country") or "US").upper()
    requested = [
        name for name, ask in (params.get("capabilities") or {}).items() if ask.get("requested") == "true"
    ]
    obj = fixture("account")
    obj.update(
        id=account_id,
        created=int(time.time()),
        type=kind or "none",
        controller=_merged(EXPRESS_CONTROLLER, controller if isinstance(controller, dict) else {}),
        country=country,
        default_currency=CURRENCIES.get(country, "eur"),
        email=params.get("email"),
        metadata=params.get("metadata", {}),
        business_type=params.get("business_type"),
        capabilities=dict.fromkeys(requested or ["card_payments", "transfers"], "inactive"),
        requirements=requirements(ONBOARDING_DUE, "requirements.past_due"),
    )
    obj["external_accounts"]["url"] = f"/v1/accounts/{account_id}/external_accounts"
    return fake.put(obj)  # Stripe sends the platform no event for an account it creates itself


def _merged(base: Json, override: Json) -> Json:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        merged[key] = _merged(merged.get(key) or {}, value) if isinstance(value, dict) else value
    return merged


def previous_attributes(before: Json, after: Json) -> Json:
    """Stripe's `previous_attributes`: the old value of every changed field, nested objects by their changed
    fields only."""
    previous: Json = {}
    for key, old in before.items():
        new = after.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            previous[key] = previous_attributes(old, new)
        else:
            previous[key] = old
    return previous


def change_account(fake: "FakeStripe", account: Json, changes: Json) -> list[Json]:
    before = copy.deepcopy(account)
    account.update(changes)
    previous = previous_attributes(before, account)
    return [fake.event("account.updated", account, previous, account=account["id"])] if previous else []


def onboard(fake: "FakeStripe", account: Json) -> list[Json]:
    """What the account holder finishing Express onboarding does."""
    capabilities = dict.fromkeys(account["capabilities"], "active")
    tos = {"date": int(time.time()), "ip": "127.0.0.1", "user_agent": "stripe-fake"}
    return change_account(
        fake,
        account,
        {
            "details_submitted": True,
            "charges_enabled": True,
            "payouts_enabled": True,
            "capabilities": capabilities,
            "requirements": requirements([], None),
            "tos_acceptance": tos,
        },
    )


def restrict(fake: "FakeStripe", account: Json) -> list[Json]:
    """Stripe needing more from the account holder: a requirement past due disables charges and payouts."""
    return change_account(
        fake,
        account,
        {
            "charges_enabled": False,
            "payouts_enabled": False,
            "capabilities": dict.fromkeys(account["capabilities"], "inactive"),
            "requirements": requirements(["individual.verification.document"], "requirements.past_due"),
        },
    )


def account_link(fake: "FakeStripe", params: Json) -> Json:
    for name in ("account", "type", "return_url", "refresh_url"):
        if not params.get(name):
            raise missing(name)
    choice(params, "type", ("account_onboarding", "account_update"))
    if fake.get(str(params["account"]), "account") is None:
        raise no_such("account", params["account"], "account", status=400)
    token = secrets.token_urlsafe(12)
    obj = fixture("account_link")
    now = int(time.time())
    obj.update(
        created=now,
        expires_at=now + LINK_SECONDS,
        url=f"{fake.public_url}/connect/onboarding/{params['account']}?link={token}",
    )
    # Private: what the hosted page needs (an account link has no id of its own at Stripe).
    obj.update(
        id=f"acctlink_{token}",
        _account=params["account"],
        _return_url=params["return_url"],
        _refresh_url=params["refresh_url"],
        _used=False,
    )
    fake.put(obj)
    return {k: v for k, v in obj.items() if k != "id"}


def login_link(fake: "FakeStripe", account_id: str) -> Json:
    account = fake.get(account_id, "account")
    if account is None:
        raise no_such("account", account_id)
    if not account["details_submitted"]:
        raise StripeError(400, "Cannot create a login link for an account that has not completed onboarding.")
    obj = fixture("login_link")
    obj.update(created=int(time.time()), url=f"{fake.public_url}/express/{account_id}")
    return obj


# --- API ----------------------------------------------------------------------------------------------------


def create_account(fake: "FakeStripe", _: Request, params: Json) -> Json:
    return new_account(fake, params)


def get_account(fake: "FakeStripe", request: Request, _: Json) -> Json:
    return _account(fake, request.path_params["id"])


def create_account_link(fake: "FakeStripe", _: Request, params: Json) -> Json:
    return account_link(fake, params)


def create_login_link(fake: "FakeStripe", request: Request, _: Json) -> Json:
    return login_link(fake, request.path_params["id"])


def _account(fake: "FakeStripe", account_id: str) -> Json:
    account = fake.get(account_id, "account")
    if account is None:
        raise no_such("account", account_id)
    return account


# --- control: what the account holder or Stripe's review would do ----------------------------------------------


async def control_account(fake: "FakeStripe", request: Request) -> Response:
    account = fake.get(request.path_params["id"], "account")
    if account is None:
        return no_such("account", request.path_params["id"]).response()
    action = {"onboard": onboard, "restrict": restrict}.get(request.path_params["action"])
    if action is None:
        return StripeError(404, f"Unknown action {request.path_params['action']}").response()
    events = action(fake, account)
    fake.save()
    # `deliver` is accepted for symmetry with the subscription controls but changes nothing: account events
    # are always sent by the delivery worker (when a webhook target is configured and delivery not held).
    return JSONResponse({"account": public(account), "events": events})


# --- hosted pages: Express onboarding and the Express dashboard ------------------------------------------------


async def onboarding_page(fake: "FakeStripe", request: Request) -> Response:
    link = fake.get(f"acctlink_{request.query_params.get('link', '')}", "account_link")
    account = fake.get(request.path_params["account"], "account")
    if link is None or account is None or link["_account"] != account["id"]:
        return HTMLResponse("<h1>Unknown onboarding link</h1>", status_code=404)
    if link["_used"] or link["expires_at"] < time.time():
        # Stripe's links are single-use and short-lived: a stale one sends the user to refresh_url for another.
        return RedirectResponse(str(link["_refresh_url"]), status_code=303)
    if request.method == "POST":
        link["_used"] = True
        onboard(fake, account)
        fake.save()
        return RedirectResponse(str(link["_return_url"]), status_code=303)
    return HTMLResponse(
        f"<h1>Test Express onboarding</h1><p>Account <code>{account['id']}</code> "
        f"({html.escape(str(account['email']))}) — local Stripe stand-in.</p>"
        '<form method="post"><button>Complete onboarding</button></form>'
    )


async def express_page(fake: "FakeStripe", request: Request) -> Response:
    account = fake.get(request.path_params["account"], "account")
    if account is None:
        return HTMLResponse("<h1>Unknown account</h1>", status_code=404)
    transfers = [
        o
        for o in fake.objects.values()
        if o.get("object") == "transfer" and o["destination"] == account["id"]
    ]
    net = sum(t["amount"] - t["amount_reversed"] for t in transfers)
    rows = "".join(
        f"<tr><td>{t['id']}</td><td>{t['amount']}</td><td>{t['amount_reversed']}</td><td>{t['currency']}</td></tr>"
        for t in sorted(transfers, key=lambda t: t["created"], reverse=True)
    )
    return HTMLResponse(
        f"<h1>Test Express dashboard</h1><p>Account <code>{account['id']}</code>: charges "
        f"{'enabled' if account['charges_enabled'] else 'disabled'}, payouts "
        f"{'enabled' if account['payouts_enabled'] else 'disabled'}.</p>"
        f"<p>Transferred, net of reversals: {net} (minor units)</p>"
        f"<table><tr><th>Transfer</th><th>Amount</th><th>Reversed</th><th>Currency</th></tr>{rows}</table>"
        f"<pre>{html.escape(json.dumps(account['requirements'], indent=1))}</pre>"
    )


def routes(fake: "FakeStripe") -> list[Route]:
    return [
        Route("/v1/accounts", resource(fake, create_account), methods=["POST"]),
        Route("/v1/accounts/{id}", resource(fake, get_account), methods=["GET"]),
        Route("/v1/account_links", resource(fake, create_account_link), methods=["POST"]),
        Route("/v1/accounts/{id}/login_links", resource(fake, create_login_link), methods=["POST"]),
        Route("/_fake/accounts/{id}/{action:str}", page(fake, control_account), methods=["POST"]),
        Route("/connect/onboarding/{account}", page(fake, onboarding_page), methods=["GET", "POST"]),
        Route("/express/{account}", page(fake, express_page), methods=["GET"]),
    ]
