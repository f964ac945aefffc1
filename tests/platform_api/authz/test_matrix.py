"""The authorization matrix: every route of the platform, for each of {anonymous, owner customer, other customer,
owning provider, other provider, admin} → the status each must get, with objects that belong to the owners.

The route list is the app's own (its OpenAPI paths): a route without an entry here fails the test. Refusals
(401/403/404) are checked to write nothing at all, so no role reads or changes another tenant's data.
"""

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI

from shared_models.clock import ManualClock
from shared_models.documents import User
from shared_models.enums import RequestState, Role
from shared_models.notifications import CATALOGUE
from shared_models.runtime.registry import DOCUMENT_MODELS
from shared_models.services.notifications import Presence, notify
from tests.factories import API, Account, login, make_admin, register
from tests.media import upload
from tests.platform_api.bookings.helpers import drive_to, make_parties, request_payload
from tests.platform_api.payments.helpers import onboard, paid_booking

ROLES = ("anonymous", "other_customer", "other_provider", "admin", "customer", "provider")  # owners last
REFUSED = {401, 403, 404}
# Written by refused requests on purpose: the webhook ledger records every delivery, signed or not.
LEDGERS = {"webhook_deliveries"}


@dataclass
class World:
    """Objects owned by `customer` and `provider`; `other_*` are tenants with nothing to do with them."""

    accounts: dict[str, Account]
    ids: dict[str, str]
    clock: ManualClock
    throwaway: dict[str, Account] = field(default_factory=dict)


Expect = dict[str, int | set[int]]


def expect(anonymous: Any = 401, *, customer: Any, other_customer: Any, provider: Any, other_provider: Any,
           admin: Any) -> Expect:  # fmt: skip
    return {"anonymous": anonymous, "customer": customer, "other_customer": other_customer,
            "provider": provider, "other_provider": other_provider, "admin": admin}  # fmt: skip


def public(ok: Any) -> Expect:
    return expect(ok, customer=ok, other_customer=ok, provider=ok, other_provider=ok, admin=ok)


def signed_in(ok: Any) -> Expect:
    return expect(customer=ok, other_customer=ok, provider=ok, other_provider=ok, admin=ok)


def party(customer: Any, provider: Any) -> Expect:
    """An object of the customer and the provider: the other tenants get 404, admins the role's 403."""
    return expect(customer=customer, other_customer=404, provider=provider, other_provider=404, admin=403)


def parties_lists(ok: Any) -> Expect:
    return expect(customer=ok, other_customer=ok, provider=ok, other_provider=ok, admin=403)


def customers(ok: Any) -> Expect:
    return expect(customer=ok, other_customer=ok, provider=403, other_provider=403, admin=403)


def providers(ok: Any) -> Expect:
    return expect(customer=403, other_customer=403, provider=ok, other_provider=ok, admin=403)


def admins(ok: Any) -> Expect:
    return expect(customer=403, other_customer=403, provider=403, other_provider=403, admin=ok)


Body = Callable[[World, str], Any]


@dataclass(frozen=True)
class Case:
    expected: Expect
    path: dict[str, str] = field(default_factory=dict)  # path parameter -> key in World.ids
    body: Body | None = None
    query: dict[str, str] | None = None
    fresh_session: bool = False  # the call ends the caller's session: use a new login (or account)


def fixed(value: Any) -> Body:
    return lambda w, role: value


def registration(w: World, role: str) -> dict[str, Any]:
    from tests.factories import register_payload

    return register_payload(Role.customer)


CASES: dict[tuple[str, str], Case] = {
    ("POST", "/auth/register"): Case(public(201), body=registration),
    ("POST", "/auth/login"): Case(
        public(401), body=fixed({"email": "nobody@example.com", "password": "wrong pass"})
    ),
    ("POST", "/auth/logout"): Case(signed_in(204), fresh_session=True),
    ("GET", "/auth/me"): Case(signed_in(200)),
    ("POST", "/auth/verify-email"): Case(public(400), body=fixed({"token": "x" * 40})),
    ("POST", "/auth/verify-email/resend"): Case(signed_in(202)),
    ("POST", "/auth/password-reset"): Case(public(202), body=fixed({"email": "nobody@example.com"})),
    ("POST", "/auth/password-reset/confirm"): Case(
        public(400), body=fixed({"token": "x" * 40, "password": "a new long passphrase"})
    ),
    ("GET", "/providers/me"): Case(providers(200)),
    ("PATCH", "/providers/me"): Case(providers(200), body=fixed({"description": "Updated by its owner."})),
    ("GET", "/providers/{slug}"): Case(public(200), path={"slug": "provider_slug"}),
    ("GET", "/providers/{provider_id}/reviews"): Case(public(200), path={"provider_id": "provider_id"}),
    ("GET", "/search/providers"): Case(public(200), query={"lat": "51.5", "lng": "-0.12"}),
    # bookings
    ("POST", "/requests"): Case(
        customers(201), body=lambda w, role: request_payload(w.ids["provider_id"], w.clock.now())
    ),
    ("GET", "/requests"): Case(parties_lists(200)),
    ("GET", "/requests/{request_id}"): Case(party(200, 200), path={"request_id": "requested"}),
    # The provider declines; the customer may not (409: authorized, but not a customer's event).
    ("POST", "/requests/{request_id}/{event}"): Case(
        party(409, 200), path={"request_id": "requested", "event": "decline_literal"}
    ),
    # disputes
    ("POST", "/requests/{request_id}/dispute"): Case(
        expect(customer=201, other_customer=404, provider=403, other_provider=403, admin=403),
        path={"request_id": "completed"},
        body=fixed({"category": "poor_quality", "statement": "The work was left unfinished."}),
    ),
    ("GET", "/disputes"): Case(parties_lists(200)),
    ("GET", "/disputes/{dispute_id}"): Case(party(200, 200), path={"dispute_id": "dispute"}),
    ("GET", "/disputes/{dispute_id}/timeline"): Case(party(200, 200), path={"dispute_id": "dispute"}),
    ("POST", "/disputes/{dispute_id}/evidence"): Case(
        party(201, 201), path={"dispute_id": "dispute"}, body=fixed({"text": "My side of it."})
    ),
    # reviews
    ("POST", "/requests/{request_id}/review"): Case(
        party(201, 201), path={"request_id": "confirmed"}, body=fixed({"rating": 4, "text": "Fine."})
    ),
    ("GET", "/requests/{request_id}/reviews"): Case(party(200, 200), path={"request_id": "reviewed"}),
    ("POST", "/reviews/{review_id}/reply"): Case(
        expect(customer=403, other_customer=403, provider=200, other_provider=404, admin=403),
        path={"review_id": "review"},
        body=fixed({"text": "Thank you!"}),
    ),
    # chat
    ("POST", "/conversations"): Case(
        expect(customer={200, 201}, other_customer=201, provider=422, other_provider=422, admin=403),
        body=lambda w, role: {"provider_id": w.ids["provider_id"]},
    ),
    ("GET", "/conversations"): Case(parties_lists(200)),
    ("GET", "/conversations/{conversation_id}"): Case(
        party(200, 200), path={"conversation_id": "conversation"}
    ),
    ("GET", "/conversations/{conversation_id}/messages"): Case(
        party(200, 200), path={"conversation_id": "conversation"}
    ),
    ("PUT", "/conversations/{conversation_id}/block"): Case(
        party(200, 200), path={"conversation_id": "conversation"}
    ),
    ("DELETE", "/conversations/{conversation_id}/block"): Case(
        party(200, 200), path={"conversation_id": "conversation"}
    ),
    # media
    ("POST", "/media/uploads"): Case(
        signed_in(201), body=fixed({"filename": "a.jpg", "content_type": "image/jpeg", "size": 100})
    ),
    ("POST", "/media/uploads/{media_id}/confirm"): Case(
        expect(customer=200, other_customer=404, provider=404, other_provider=404, admin=404),
        path={"media_id": "media"},
    ),
    ("GET", "/media/{media_id}/download"): Case(
        expect(customer=200, other_customer=404, provider=404, other_provider=404, admin=200),
        path={"media_id": "media"},
    ),
    # billing
    ("POST", "/billing/checkout-session"): Case(providers(409), body=fixed({"tier": "pro"})),
    ("POST", "/billing/portal-session"): Case(providers(200)),
    ("GET", "/billing/subscription"): Case(providers(200)),
    ("POST", "/billing/webhook"): Case(public(400), body=fixed({"id": "evt_1", "object": "event"})),
    # payments: a booking's payment is its parties' (and the admins', through the admin route); the other
    # provider has no connected account yet when its rows run (account-link, which makes one, comes last).
    ("POST", "/requests/{request_id}/payment"): Case(
        expect(customer=200, other_customer=404, provider=403, other_provider=403, admin=403),
        path={"request_id": "paid"},
    ),
    ("GET", "/requests/{request_id}/payment"): Case(party(200, 200), path={"request_id": "paid"}),
    ("GET", "/admin/requests/{request_id}/payment"): Case(admins(200), path={"request_id": "paid"}),
    ("GET", "/payments/account"): Case(
        expect(customer=403, other_customer=403, provider=200, other_provider=409, admin=403)
    ),
    ("POST", "/payments/login-link"): Case(
        expect(customer=403, other_customer=403, provider=200, other_provider=409, admin=403)
    ),
    ("POST", "/payments/account-link"): Case(providers(200)),
    ("GET", "/payments/cancellation-policy"): Case(public(200)),
    # notifications
    ("GET", "/notifications"): Case(signed_in(200)),
    ("GET", "/notifications/unread-count"): Case(signed_in(200)),
    ("POST", "/notifications/read-all"): Case(signed_in(200)),
    ("GET", "/notifications/preferences"): Case(signed_in(200)),
    ("PUT", "/notifications/preferences"): Case(signed_in(200), body=fixed({"disabled": []})),
    ("POST", "/notifications/{notification_id}/read"): Case(
        expect(customer=200, other_customer=404, provider=404, other_provider=404, admin=404),
        path={"notification_id": "notification"},
    ),
    ("GET", "/notifications/{notification_id}/deliveries"): Case(
        expect(customer=200, other_customer=404, provider=404, other_provider=404, admin=404),
        path={"notification_id": "notification"},
    ),
    # account
    ("GET", "/account/consents"): Case(signed_in(200)),
    ("PUT", "/account/consents/marketing"): Case(signed_in(200), body=fixed({"opt_in": False})),
    ("POST", "/email/unsubscribe"): Case(public(400), query={"token": "not-a-valid-token-" + "x" * 20}),
    # The link's page only shows the confirmation form; the POST checks the token.
    ("GET", "/email/unsubscribe"): Case(public(200), query={"token": "not-a-valid-token-" + "x" * 20}),
    ("GET", "/account/export"): Case(signed_in(200)),
    ("DELETE", "/account"): Case(
        signed_in(204), body=fixed({"password": "correct horse battery"}), fresh_session=True
    ),
    # admin console
    ("GET", "/admin/users"): Case(admins(200)),
    ("GET", "/admin/users/{user_id}"): Case(admins(200), path={"user_id": "customer_id"}),
    ("GET", "/admin/users/{user_id}/notification-deliveries"): Case(
        admins(200), path={"user_id": "customer_id"}
    ),
    ("POST", "/admin/users/{user_id}/suspend"): Case(
        admins(200), path={"user_id": "throwaway_id"}, body=fixed({"reason": "Matrix test."})
    ),
    ("POST", "/admin/users/{user_id}/unsuspend"): Case(admins(200), path={"user_id": "throwaway_id"}),
    ("GET", "/admin/billing/webhooks"): Case(admins(200)),
    ("GET", "/admin/billing/webhooks/{delivery_id}"): Case(admins(200), path={"delivery_id": "delivery"}),
    ("POST", "/admin/billing/webhooks/{delivery_id}/reprocess"): Case(
        admins(200), path={"delivery_id": "delivery"}
    ),
    ("GET", "/admin/providers/{provider_id}"): Case(admins(200), path={"provider_id": "provider_id"}),
    ("GET", "/admin/providers/{provider_id}/subscription"): Case(
        admins(200), path={"provider_id": "provider_id"}
    ),
    ("POST", "/admin/providers/{provider_id}/verify"): Case(admins(200), path={"provider_id": "provider_id"}),
    ("POST", "/admin/providers/{provider_id}/unverify"): Case(
        admins(200), path={"provider_id": "provider_id"}
    ),
    ("GET", "/admin/search/fairness"): Case(
        admins(200), query={"since": "2026-01-01T00:00:00Z", "until": "2027-01-01T00:00:00Z"}
    ),
    ("GET", "/admin/audit"): Case(admins(200)),
    ("GET", "/admin/disputes"): Case(admins(200)),
    ("GET", "/admin/disputes/{dispute_id}"): Case(admins(200), path={"dispute_id": "dispute"}),
    ("POST", "/admin/disputes/{dispute_id}/assign"): Case(admins(200), path={"dispute_id": "dispute"}),
    ("POST", "/admin/disputes/{dispute_id}/request-info"): Case(
        admins(200),
        path={"dispute_id": "dispute"},
        body=fixed({"party": "provider", "question": "Photos, please?"}),
    ),
    ("POST", "/admin/disputes/{dispute_id}/resolve"): Case(
        admins(200),
        path={"dispute_id": "dispute"},
        body=fixed({"outcome": "provider_favoured", "note": "Done well."}),
    ),
    ("GET", "/healthz"): Case(public(200)),
    ("GET", "/readyz"): Case(public(200)),
}


def routes(app: FastAPI) -> set[tuple[str, str]]:
    return {
        (method.upper(), path.removeprefix(API))
        for path, item in app.openapi()["paths"].items()
        for method in item
    }


async def build_world(api: httpx.AsyncClient, clock: ManualClock, stripe_api: str) -> World:
    parties = await make_parties(api)
    accounts = {
        "customer": parties.customer,
        "provider": parties.provider,
        "other_customer": parties.other_customer,
        "other_provider": parties.other_provider,
        "admin": await make_admin(api, clock),
    }
    now = clock.now()
    requested, _ = await drive_to(parties, RequestState.requested, now)
    completed, _ = await drive_to(parties, RequestState.completed, now)
    to_dispute, _ = await drive_to(parties, RequestState.completed, now)
    confirmed, _ = await drive_to(parties, RequestState.confirmed, now)
    reviewed, _ = await drive_to(parties, RequestState.confirmed, now)
    c, p = parties.customer.bearer, parties.provider.bearer
    dispute = await api.post(
        f"{API}/requests/{to_dispute.id}/dispute",
        json={"category": "damage", "statement": "A pipe was left leaking."},
        headers=c,
    )
    assert dispute.status_code == 201, dispute.text
    review = await api.post(
        f"{API}/requests/{reviewed.id}/review", json={"rating": 5, "text": "Great."}, headers=c
    )
    assert (
        await api.post(f"{API}/requests/{reviewed.id}/review", json={"rating": 5, "text": "Kind."}, headers=p)
    ).status_code == 201
    conversation = await api.post(
        f"{API}/conversations", json={"provider_id": parties.provider_id}, headers=c
    )
    media = await upload(api, parties.customer)
    user = await User.get(parties.customer.id)
    assert user is not None
    note = await notify(
        CATALOGUE["account_suspended"], parties.customer.id, f"matrix:{uuid.uuid4().hex}",
        {"recipient_id": parties.customer.id}, Presence(online=False, engaged=False), now,
    )  # fmt: skip
    assert note.notification is not None
    ledger = await api.get(f"{API}/admin/billing/webhooks", headers=accounts["admin"].bearer)
    throwaway = await register(api)
    # Onboarded last: the bookings above were requested before, so they are not card-paid.
    await onboard(api, stripe_api, parties.provider)
    paid = await paid_booking(api, stripe_api, parties, now)
    profile = parties.provider.body["provider"]
    ids = {
        "provider_id": parties.provider_id,
        "provider_slug": profile["slug"],
        "customer_id": parties.customer.id,
        "throwaway_id": throwaway.id,
        "requested": str(requested.id),
        "completed": str(completed.id),
        "confirmed": str(confirmed.id),
        "reviewed": str(reviewed.id),
        "review": review.json()["id"],
        "dispute": dispute.json()["id"],
        "conversation": conversation.json()["id"],
        "media": media["id"],
        "notification": str(note.notification.id),
        "delivery": ledger.json()["items"][0]["id"],
        "decline_literal": "decline",
        "paid": paid.request_id,
    }
    return World(accounts, ids, clock)


async def snapshot() -> str:
    """Every collection but the ledgers, as one string: equal before and after means nothing was written."""
    dump = {}
    for model in DOCUMENT_MODELS:
        collection = model.get_pymongo_collection()
        if collection.name in LEDGERS:
            continue
        dump[collection.name] = await collection.find({}).sort("_id").to_list()
    return json.dumps(dump, default=str, sort_keys=True)


async def session_for(
    api: httpx.AsyncClient, world: World, role: str, case: Case, method: str, path: str
) -> dict[str, str]:
    if role == "anonymous":
        return {}
    account = world.accounts[role]
    if case.fresh_session:
        # Logging out or deleting the account must not end the session the rest of the matrix uses.
        if method == "DELETE" and path == "/account":
            account = (
                await register(api, Role.provider if "provider" in role else Role.customer)
                if role != "admin"
                else await make_admin(api, world.clock)
            )
        else:
            account = await login(api, account)
    return account.bearer


async def test_every_route_answers_each_role_as_the_matrix_says(
    platform_app: FastAPI, api_factory: Any, clock: ManualClock, stripe_api: str
) -> None:
    assert routes(platform_app) == set(CASES), "every route needs its row in the matrix (and no stale rows)"
    async with api_factory() as setup:
        world = await build_world(setup, clock, stripe_api)
    wrong: list[str] = []
    for (method, path), case in CASES.items():
        url = (API if not path.startswith(("/healthz", "/readyz")) else "") + path.format(
            **{name: world.ids[key] for name, key in case.path.items()}
        )
        for role in ROLES:
            allowed = case.expected[role]
            allowed_set = allowed if isinstance(allowed, set) else {allowed}
            refused = allowed_set <= REFUSED
            before = await snapshot() if refused and method != "GET" else None
            async with api_factory() as client:  # no cookie jar: the role's bearer token or nothing
                headers = await session_for(client, world, role, case, method, path)
                response = await client.request(
                    method,
                    url,
                    headers=headers,
                    params=case.query,
                    json=case.body(world, role) if case.body else None,
                )
            if response.status_code not in allowed_set:
                wrong.append(
                    f"{method} {path} as {role}: {response.status_code} (expected {allowed}) {response.text[:160]}"
                )
            elif response.status_code >= 400:
                assert "error" in response.json(), (method, path, role)
            if before is not None and before != await snapshot():
                wrong.append(f"{method} {path} as {role}: refused, but something was written")
    assert not wrong, "\n".join(wrong)
