"""Retried creates make one resource: the `Idempotency-Key` header, with Stripe's semantics
(https://docs.stripe.com/api/idempotent_requests).

A create operation declares `dependencies=[IDEMPOTENT]` on a router whose `route_class` is
`IdempotentRoute`. With the header (1 to 255 printable ASCII characters), per account:

- The first call claims the key (one insert on a unique key: of concurrent first calls exactly one wins)
  and runs; its response (status, body, the route's own headers) is stored for 24 hours.
- The same key with the same request (method, path, query, body as canonical JSON) replays that response,
  with `Idempotent-Replayed: true`, and runs nothing.
- The same key with another request → 422 `idempotency_key_reused`.
- While the first call still runs, a retry waits for it (up to `IDEMPOTENCY_WAIT_SECONDS`), then replays;
  if it is still running → 409 `idempotency_key_in_use` with `Retry-After`.
- Nothing is stored when the endpoint did not run or did not decide (as Stripe): a malformed request
  (422 `validation_error`), a rate limit (429) or a server error (5xx, a lost database): the key is
  released and a retry runs afresh. Unlike Stripe we do not keep 5xx answers: ours mean the outcome was not
  decided (the database was lost), and a retry with the same key is the way to decide it.
- A claim whose call died (process killed) is taken over after `LEASE` (60 s).
- Keys expire 24 hours after their first use (TTL index; expiry is judged by the app's clock, so a key is
  never replayed after 24 h even before the TTL monitor removes it).

Without the header a create behaves as before.
"""

import asyncio
import hashlib
import json
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

import structlog
from fastapi import Depends, Header, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pymongo.errors import DuplicateKeyError, PyMongoError

from platform_api.deps import CurrentSession
from platform_api.errors import Conflict, Unprocessable, add_errors
from platform_api.privacy import Section, Subject, find_by
from shared_models import store
from shared_models.clock import Clock
from shared_models.documents import IdempotentRequest

log = structlog.get_logger(__name__)

TTL = timedelta(hours=24)  # Stripe's: "keys are eligible to be removed after at least 24 hours"
LEASE = timedelta(seconds=60)  # longer than any create takes; the HTTP timeouts in front are shorter
HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# Response headers of the route that are not replayed: framing, and anything per call.
_NOT_REPLAYED = frozenset({"content-length", "set-cookie", "date", "server"})
_PAUSES = (0.02, 0.05, 0.1, 0.2)  # between looks at a running first call, the last repeated


class KeyReused(Unprocessable):
    code = "idempotency_key_reused"
    message = f"This {HEADER} was already used with a different request; use a new key for a new request."


class KeyInUse(Conflict):
    code = "idempotency_key_in_use"
    message = f"A request with this {HEADER} is still in progress; retry shortly."


@dataclass
class Replay(Exception):
    """Raised by the dependency to answer with a stored response instead of running the endpoint."""

    record: IdempotentRequest

    def response(self) -> Response:
        assert self.record.status_code is not None
        assert self.record.body is not None
        return Response(
            self.record.body.encode(),
            status_code=self.record.status_code,
            headers={**self.record.headers, REPLAYED_HEADER: "true"},
        )


@dataclass
class Claim:
    """This call holds the key; it stores the response, or releases the key."""

    record: IdempotentRequest

    async def finish(self, response: Response) -> None:
        status = response.status_code
        body = getattr(response, "body", None)
        if status >= 500 or status == 429 or not isinstance(body, bytes):
            await self.release()
            return
        done = self.record.model_copy(
            update={
                "state": "done",
                "status_code": status,
                "body": body.decode("utf-8", "replace"),
                "headers": {k: v for k, v in response.headers.items() if k not in _NOT_REPLAYED},
            }
        )
        try:
            await store.replace_if({"key": self.record.key, "claim": self.record.claim}, done)
        except PyMongoError as exc:  # the response stands; a retry after the lease runs afresh
            log.warning("idempotency.store_failed", error=str(exc)[:200])

    async def release(self) -> None:
        try:
            await IdempotentRequest.find({"key": self.record.key, "claim": self.record.claim}).delete()
        except PyMongoError as exc:
            log.warning("idempotency.release_failed", error=str(exc)[:200])


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    """sha256 of the request as the endpoint sees it: a JSON body compares by value (key order, spacing,
    escapes and the spelling of a number, 77 / 77.0 / 7.7e1, do not matter), any other body by its bytes."""
    try:
        value = json.loads(body, parse_float=_number)
        canonical = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def _number(text: str) -> float | int:
    """A JSON number written with a fraction or exponent: as an int when it is a whole number."""
    number = float(text)
    return int(number) if number.is_integer() else number


def scoped_key(user_id: str, key: str) -> str:
    return hashlib.sha256(f"{user_id}\x00{key}".encode()).hexdigest()


async def _claim_or_replay(user_id: str, key: str, print_: str, clock: Clock, wait_seconds: float) -> Claim:
    """Claim `key` for this call, or raise `Replay` / `KeyReused` / `KeyInUse`."""
    scoped = scoped_key(user_id, key)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    looks = 0
    while True:
        now = clock.now()
        mine = IdempotentRequest(
            key=scoped,
            user_id=user_id,
            idempotency_key=key,
            fingerprint=print_,
            claim=secrets.token_hex(16),
            state="started",
            started_at=now,
            created_at=now,
            expires_at=now + TTL,
        )
        try:
            await mine.insert()
            return Claim(mine)
        except DuplicateKeyError:
            pass
        found = await IdempotentRequest.find_one({"key": scoped})
        if found is None:
            continue  # released (or expired) meanwhile: claim it afresh
        stale = found.expires_at <= now or (found.state == "started" and found.started_at + LEASE <= now)
        if stale:
            # An expired key is a new one; a claim past its lease belongs to a call that died.
            mine.id = None
            if await store.replace_if({"key": scoped, "claim": found.claim}, mine) is not None:
                return Claim(mine)
            continue
        if found.fingerprint != print_:
            raise KeyReused(field=HEADER)
        if found.state == "done":
            raise Replay(found)
        if loop.time() >= deadline:
            raise KeyInUse(field=HEADER, headers={"Retry-After": "1"})
        await asyncio.sleep(_PAUSES[min(looks, len(_PAUSES) - 1)])
        looks += 1


async def idempotency_key(
    request: Request,
    session: CurrentSession,
    key: Annotated[
        str | None,
        Header(
            alias=HEADER,
            min_length=1,
            max_length=255,
            pattern=r"^[\x21-\x7e]+$",
            description="Makes a retry of this create safe (Stripe's semantics): the same key and body "
            "within 24 hours replays the first response (`Idempotent-Replayed: true`) and creates "
            "nothing; the same key with another body is 422 `idempotency_key_reused`; while the first "
            "call runs, 409 `idempotency_key_in_use`. Keys are per account; use a fresh random one (a "
            "UUID) per intended create.",
            examples=["4f1c2d0e-9b7a-4c3e-8f61-2a5d9e0b7c13"],
        ),
    ] = None,
) -> None:
    """The dependency: claim the key before the endpoint runs, or answer from the stored response."""
    if key is None:
        return
    print_ = fingerprint(request.method, request.url.path, request.url.query, await request.body())
    request.state.idempotency = await _claim_or_replay(
        session.user_id,
        key,
        print_,
        request.app.state.clock,
        request.app.state.settings.idempotency_wait_seconds,
    )


IDEMPOTENT = Depends(idempotency_key)

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def _exception_handler(request: Request, exc: Exception) -> Callable[..., Any] | None:
    handlers: dict[Any, Callable[..., Any]] = request.app.exception_handlers
    return next((handlers[cls] for cls in type(exc).__mro__ if cls in handlers), None)


class IdempotentRoute(APIRoute):
    """A route class that stores the response of a call holding an idempotency claim (and releases the
    claim when the endpoint did not decide). Only routes declaring `IDEMPOTENT` are wrapped."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        if self._idempotent:
            add_errors(self.responses, KeyInUse, KeyReused)

    @property
    def _idempotent(self) -> bool:
        return any(d.call is idempotency_key for d in self.dependant.dependencies)

    def get_route_handler(self) -> Handler:
        handler: Handler = super().get_route_handler()
        if not self._idempotent:
            return handler

        async def idempotent(request: Request) -> Response:
            try:
                response = await handler(request)
            except Replay as replay:
                return replay.response()
            except Exception as exc:
                claim: Claim | None = getattr(request.state, "idempotency", None)
                render = _exception_handler(request, exc)
                if claim is None:
                    raise
                if render is None or isinstance(exc, RequestValidationError):
                    await claim.release()  # not run, or failed undecided: a retry runs afresh
                    raise
                response = await render(request, exc)
            claim = getattr(request.state, "idempotency", None)
            if claim is not None:
                await claim.finish(response)
            return response

        return idempotent


# --- GDPR: this domain's part of export and erasure (orchestrated by the account domain) ---------------

MODELS = ("IdempotentRequest",)  # the documents its GDPR part covers


async def export_for(subject: Subject) -> dict[str, Section]:
    """The stored answers of the account's creates (by Idempotency-Key)."""
    return {"idempotent_requests": await find_by(IdempotentRequest, "user_id", subject.user_id)}


async def erase_for(subject: Subject, now: datetime) -> None:
    await IdempotentRequest.find({"user_id": subject.user_id}).delete()
