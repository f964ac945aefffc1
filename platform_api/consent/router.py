"""Consent routes: my consents (current and history), the marketing choice, and one-click unsubscribe."""

import html
from datetime import datetime
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from platform_api.consent.errors import UnsubscribeInvalid
from platform_api.consent.service import MARKETING, consent_service
from platform_api.consent.unsubscribe import read_token
from platform_api.deps import (
    READ_SESSION,
    WRITE_SESSION,
    ClockDep,
    CurrentSession,
    SettingsDep,
    request_origin,
)
from platform_api.errors import ValidationFailed, errors
from platform_api.notifications.errors import MandatoryType
from platform_api.notifications.service import notification_service
from shared_models.documents import ConsentRecord
from shared_models.notifications import CATALOGUE

router = APIRouter(tags=["account"])


class ConsentOut(BaseModel):
    kind: str
    granted: bool
    version: str | None
    source: str
    at: datetime

    @classmethod
    def of(cls, r: ConsentRecord) -> "ConsentOut":
        return cls(kind=r.kind, granted=r.granted, version=r.version, source=r.source, at=r.at)


class ConsentsOut(BaseModel):
    current: list[ConsentOut] = Field(description="The latest decision of each kind.")
    history: list[ConsentOut] = Field(description="Every decision, newest first (append-only).")


class MarketingIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"opt_in": True}]})

    opt_in: bool


class UnsubscribedOut(BaseModel):
    unsubscribed: str = Field(examples=["new_message"])


@router.get(
    "/account/consents",
    summary="What I agreed to: current consents and their history",
    response_model=ConsentsOut,
    responses=errors(*READ_SESSION),
)
async def my_consents(session: CurrentSession) -> ConsentsOut:
    history = await consent_service.history(session.user_id)
    current = await consent_service.current(session.user_id)
    return ConsentsOut(
        current=[ConsentOut.of(r) for r in current.values()], history=[ConsentOut.of(r) for r in history]
    )


@router.put(
    "/account/consents/marketing",
    summary="Opt in to (or out of) marketing email",
    response_model=ConsentOut,
    responses=errors(*WRITE_SESSION),
)
async def set_marketing(
    body: MarketingIn, request: Request, session: CurrentSession, clock: ClockDep
) -> ConsentOut:
    origin = request_origin(request, "settings")
    return ConsentOut.of(
        await consent_service.record(session.user_id, MARKETING, body.opt_in, origin, clock.now())
    )


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
