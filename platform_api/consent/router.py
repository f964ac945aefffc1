"""Consent routes: my consents (current and history), the marketing choice, and one-click unsubscribe."""

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from platform_api.consent.service import MARKETING, consent_service, request_origin
from platform_api.deps import READ_SESSION, WRITE_SESSION, ClockDep, CurrentSession
from platform_api.errors import errors
from shared_models.documents import ConsentRecord

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
