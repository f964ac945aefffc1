"""One-click unsubscribe (RFC 8058) from the links in non-essential email: a workflow of two domains, so it
lives with the one that sends the mail. Marketing → a consent record (the consent ledger); a notification
type → that type's email switched off in the user's preferences, and the choice recorded in the ledger."""

import html
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from platform_api.consent.errors import UnsubscribeInvalid
from platform_api.consent.service import MARKETING, consent_service, request_origin
from platform_api.consent.unsubscribe import read_token
from platform_api.deps import ClockDep, SettingsDep
from platform_api.errors import ValidationFailed, errors
from platform_api.notifications.errors import MandatoryType
from platform_api.notifications.service import notification_service
from shared_models.notifications import CATALOGUE

router = APIRouter(tags=["account"])


class UnsubscribedOut(BaseModel):
    unsubscribed: str = Field(examples=["new_message"])


@router.post(
    "/email/unsubscribe",
    summary="One-click unsubscribe (RFC 8058): the signed link of a non-essential email; no login",
    response_model=UnsubscribedOut,
    responses=errors(UnsubscribeInvalid, MandatoryType, ValidationFailed),
)
async def unsubscribe(
    request: Request, settings: SettingsDep, clock: ClockDep, token: str = Query(max_length=500)
) -> UnsubscribedOut:
    user_id, scope = read_token(settings, token)
    origin = request_origin(request, "unsubscribe")
    kind, _, value = scope.partition(":")
    if scope == "marketing":
        await consent_service.record(user_id, MARKETING, False, origin, clock.now())
        return UnsubscribedOut(unsubscribed="marketing")
    if kind != "type" or value not in CATALOGUE or CATALOGUE[value].mandatory:
        raise UnsubscribeInvalid(field="token")
    disabled = await notification_service.preferences(user_id)
    await notification_service.set_preferences(user_id, disabled | {f"{value}:email"})
    await consent_service.record(user_id, f"email:{value}", False, origin, clock.now())
    return UnsubscribedOut(unsubscribed=value)


@router.get(
    "/email/unsubscribe",
    summary="The page an unsubscribe link opens in a browser: one button that POSTs",
    response_class=HTMLResponse,
)
async def unsubscribe_page(token: str = Query(max_length=500)) -> HTMLResponse:
    # A GET never unsubscribes: mail scanners prefetch links.
    action = html.escape(f"?token={quote(token)}")
    return HTMLResponse(
        f'<!doctype html><title>Unsubscribe</title><form method="post" action="{action}">'
        "<p>Stop these emails?</p><button>Unsubscribe</button></form>"
    )
