"""Settlement: what a booking's state means for its money, decided from the booking alone and executed on
Stripe exactly once.

- `decide(request, payment)`: the instructions a booking's state calls for — capture on acceptance; release
  on decline, expiry or a cancellation before acceptance; a refund per `policy.CANCELLATION_POLICY` on a
  cancellation after it; the refund a dispute's decision names (`ServiceRequest.resolution.refund_minor`).
  Pure: the cancellation's time and actor come from the booking's history, so any process deciding at any
  time decides the same.
- `claim`: each instruction is a unique-key claim (`<booking id>:<action>`): of concurrent or repeated
  callers one records it, the rest read it.
- `execute`: sends it to Stripe with that same key as the idempotency key, after checking Stripe has not
  done it already (a refund carries its key in its metadata, so a refund made more than Stripe's 24 h key
  lifetime ago is still found), then marks it executed. Stripe down: the instruction waits for the
  `payments.settle` sweep.

Money *state* (captured, refunded) is still only what Stripe's webhooks say (`payments.reducer`): an
executed refund shows as refunded once `charge.refunded` / `refund.updated` has been recorded.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import stripe
import structlog
from pymongo.errors import DuplicateKeyError
from stripe.params import PaymentIntentCaptureParams

from platform_api.billing.errors import StripeUnavailable
from platform_api.billing.stripe_api import stripe_errors
from platform_api.payments.policy import RELEASED_STATES, cancellation_rule, share
from shared_models import store
from shared_models.documents import ServiceRequest
from shared_models.documents.payments import (
    BookingPayment,
    PaymentAction,
    PaymentInstruction,
    PaymentIntentStatus,
)
from shared_models.enums import RequestState

log = structlog.get_logger(__name__)

S = RequestState
CAPTURED_STATES = frozenset({S.accepted, S.completed, S.confirmed, S.auto_confirmed, S.disputed, S.resolved})
# Bookings the sweep looks at: those whose money may still be owed an instruction.
SETTLING_STATES = frozenset({*CAPTURED_STATES, *RELEASED_STATES, S.cancelled})
SWEEP_LOOKBACK = timedelta(days=30)  # a booking's money is settled within minutes of its last change
MAX_ATTEMPTS = 10  # then an instruction is left for ops (logged `payments.instruction_stuck`)


@dataclass(frozen=True)
class Decision:
    action: PaymentAction
    amount: int
    rule: str
    # A capture of less than was authorised takes the platform's fee in the same proportion (None: the
    # PaymentIntent's own `application_fee_amount`).
    application_fee_amount: int | None = None


def key_of(request_id: str, action: PaymentAction) -> str:
    return f"{request_id}:{action.value}"


def decide(
    request: ServiceRequest, payment: BookingPayment, claimed: dict[PaymentAction, PaymentInstruction]
) -> list[Decision]:
    """The instructions this booking's state calls for, in the order they must run (a capture before a
    refund). `claimed`: those already recorded (a claimed capture runs as claimed)."""
    state, amount = request.state, payment.amount
    if state is S.requested:
        return []
    if state in RELEASED_STATES:
        return [Decision(PaymentAction.release, 0, state.value)]
    if state is S.cancelled:
        return _cancellation(request, payment, claimed)
    decisions = [Decision(PaymentAction.capture, amount, "accepted")]
    refund = request.resolution.refund_minor if request.resolution is not None else None
    if state is S.resolved and refund:
        decisions.append(Decision(PaymentAction.refund, min(refund, amount), "dispute_resolution"))
    return decisions


def _cancellation(
    request: ServiceRequest, payment: BookingPayment, claimed: dict[PaymentAction, PaymentInstruction]
) -> list[Decision]:
    cancel = request.history[-1]
    assert cancel.from_state is not None
    rule = cancellation_rule(cancel.from_state, cancel.actor_role, cancel.at, request.window.start)
    if cancel.from_state is S.requested:
        return [Decision(PaymentAction.release, 0, rule.name)]
    amount = payment.amount
    refund = share(amount, rule.refund_percent)
    capture = claimed.get(PaymentAction.capture)
    if capture is not None and capture.rule == rule.name:  # captured only what the policy keeps: done
        return [_as_claimed(capture)]
    if capture is not None:  # taken (or about to be) in full at acceptance: give back the policy's share
        refunds = [Decision(PaymentAction.refund, min(refund, capture.amount), rule.name)] if refund else []
        return [_as_claimed(capture), *refunds]
    # Never captured (a crash or Stripe down between acceptance and the cancellation): capture only what the
    # policy keeps, with the fee in proportion; nothing kept: release.
    kept = amount - refund
    if kept == 0:
        return [Decision(PaymentAction.release, 0, rule.name)]
    fee = (payment.application_fee_amount * kept + amount // 2) // amount
    return [Decision(PaymentAction.capture, kept, rule.name, application_fee_amount=fee)]


def _as_claimed(instruction: PaymentInstruction) -> Decision:
    return Decision(
        instruction.action, instruction.amount, instruction.rule, instruction.application_fee_amount
    )


async def instructions_of(request_id: str) -> dict[PaymentAction, PaymentInstruction]:
    found = await PaymentInstruction.find(PaymentInstruction.request_id == request_id).to_list()
    return {i.action: i for i in found}


async def claim(
    request: ServiceRequest, payment: BookingPayment, decision: Decision, now: datetime
) -> PaymentInstruction:
    """Record the instruction once (unique key); a concurrent or earlier claim wins and is returned."""
    key = key_of(str(request.id), decision.action)
    instruction = PaymentInstruction(
        key=key,
        request_id=str(request.id),
        stripe_payment_intent_id=payment.stripe_payment_intent_id,
        action=decision.action,
        amount=decision.amount,
        application_fee_amount=decision.application_fee_amount,
        currency=payment.currency,
        rule=decision.rule,
        decided_at=now,
    )
    try:
        await instruction.insert()
        log.info("payments.instruction", request_id=str(request.id), action=decision.action.value,
                 amount=decision.amount, rule=decision.rule)  # fmt: skip
        return instruction
    except DuplicateKeyError:
        existing = await PaymentInstruction.find_one(PaymentInstruction.key == key)
        assert existing is not None
        return existing


async def settle(
    request: ServiceRequest, client: stripe.StripeClient, now: datetime
) -> list[PaymentInstruction]:
    """Decide, claim and execute what the booking's state calls for (nothing for an unpaid booking); returns
    the instructions executed by this call. Safe to call any number of times from any process. Raises
    StripeUnavailable when Stripe cannot be reached (the instructions stay claimed for the sweep)."""
    if not request.payment_required:
        return []
    payment = await BookingPayment.get(request.id)
    if payment is None:
        return []
    return await _settle(request, payment, await instructions_of(str(request.id)), client, now)


async def _settle(
    request: ServiceRequest,
    payment: BookingPayment,
    claimed: dict[PaymentAction, PaymentInstruction],
    client: stripe.StripeClient,
    now: datetime,
) -> list[PaymentInstruction]:
    done: list[PaymentInstruction] = []
    for decision in decide(request, payment, claimed):
        instruction = claimed.get(decision.action) or await claim(request, payment, decision, now)
        if instruction.executed_at is not None:
            continue
        instruction, by_us = await execute(instruction, client, now)
        if instruction.executed_at is None:
            break  # refused by Stripe: a refund waits for its capture
        if by_us:
            done.append(instruction)
    return done


async def settle_quietly(request: ServiceRequest, client: stripe.StripeClient, now: datetime) -> None:
    """`settle` after a transition the caller already answered for: Stripe being down is not the caller's
    failure (the sweep finishes it), so it is logged, not raised."""
    try:
        await settle(request, client, now)
    except StripeUnavailable:
        log.warning("payments.settle_deferred", request_id=str(request.id))


async def execute(
    instruction: PaymentInstruction, client: stripe.StripeClient, now: datetime
) -> tuple[PaymentInstruction, bool]:
    """Send one instruction to Stripe (idempotency key = its key) and mark it executed; a refusal by Stripe
    is recorded on it (`attempts`, `last_error`) and the sweep tries again. Answers the instruction as it is
    now and whether this call marked it executed (a concurrent caller's same call marks it first: False).
    Raises StripeUnavailable."""
    try:
        object_id = await _send(instruction, client)
    except stripe.InvalidRequestError as exc:
        done = await _already_done(instruction, client)
        if done is None:
            return await _failed(instruction, f"{exc.code or 'invalid_request'}: {exc.user_message}"), False
        object_id = done
    executed: PaymentInstruction = instruction.model_copy(
        update={"executed_at": now, "stripe_object_id": object_id}
    )
    if await store.replace_if({"_id": instruction.id, "executed_at": None}, executed) is None:
        fresh = await PaymentInstruction.get(instruction.id)  # executed by a concurrent caller: the same call
        assert fresh is not None
        return fresh, False
    log.info("payments.executed", request_id=instruction.request_id, action=instruction.action.value,
             amount=instruction.amount, stripe_object=object_id)  # fmt: skip
    return executed, True


async def _send(instruction: PaymentInstruction, client: stripe.StripeClient) -> str:
    intent = instruction.stripe_payment_intent_id
    options: stripe.RequestOptions = {"idempotency_key": instruction.key}
    metadata = {"request_id": instruction.request_id, "instruction": instruction.key}
    if instruction.action is PaymentAction.capture:
        with stripe_errors("capture the payment"):
            params: PaymentIntentCaptureParams = {"amount_to_capture": instruction.amount}
            if instruction.application_fee_amount is not None:
                params["application_fee_amount"] = instruction.application_fee_amount
            captured = await client.v1.payment_intents.capture_async(intent, params=params, options=options)
        return str(captured.id)
    if instruction.action is PaymentAction.release:
        with stripe_errors("release the payment"):
            released = await client.v1.payment_intents.cancel_async(
                intent, params={"cancellation_reason": "abandoned"}, options=options
            )
        return str(released.id)
    existing = await _refund_of(instruction, client)
    if existing is not None:
        return existing
    with stripe_errors("refund the payment"):
        refund = await client.v1.refunds.create_async(
            params={
                "payment_intent": intent,
                "amount": instruction.amount,
                "reverse_transfer": True,
                "refund_application_fee": True,
                "metadata": {**metadata, "purpose": instruction.rule},
            },
            options=options,
        )
    return str(refund.id)


async def _refund_of(instruction: PaymentInstruction, client: stripe.StripeClient) -> str | None:
    """The refund Stripe already made for this instruction, if any (found by its metadata)."""
    with stripe_errors("read the payment's refunds"):
        page = await client.v1.refunds.list_async(
            params={"payment_intent": instruction.stripe_payment_intent_id, "limit": 100}
        )
    return next(
        (
            str(r.id)
            for r in page.data
            if (r.to_dict().get("metadata") or {}).get("instruction") == instruction.key
        ),
        None,
    )


async def _already_done(instruction: PaymentInstruction, client: stripe.StripeClient) -> str | None:
    """Stripe refused: is what we asked for already true there (captured or released by an earlier call)?"""
    with stripe_errors("read the payment"):
        intent = await client.v1.payment_intents.retrieve_async(instruction.stripe_payment_intent_id)
    status = PaymentIntentStatus(intent.status)
    if instruction.action is PaymentAction.capture and status is PaymentIntentStatus.succeeded:
        return str(intent.id)
    if instruction.action is PaymentAction.release and status is PaymentIntentStatus.canceled:
        return str(intent.id)
    if instruction.action is PaymentAction.refund:
        return await _refund_of(instruction, client)
    return None


async def _failed(instruction: PaymentInstruction, error: str) -> PaymentInstruction:
    failed: PaymentInstruction = instruction.model_copy(
        update={"attempts": instruction.attempts + 1, "last_error": error[:500]}
    )
    await store.replace_if({"_id": instruction.id, "attempts": instruction.attempts}, failed)
    event = (
        "payments.instruction_stuck" if failed.attempts >= MAX_ATTEMPTS else "payments.instruction_refused"
    )
    log.warning(event, request_id=instruction.request_id, action=instruction.action.value, error=error[:200])
    return failed


async def sweep(client: stripe.StripeClient, now: datetime, batch_size: int = 200) -> int:
    """The `payments.settle` job: claim what recent card-paid bookings are owed (an expiry, or a crash or a
    Stripe outage between a transition and its settlement) and execute every claimed instruction not yet
    executed. Pages through the bookings changed within `SWEEP_LOOKBACK` by their sortable key; stops at the
    first sign of Stripe being down (the next run goes on). Returns how many instructions were executed."""
    executed, cursor, seen = 0, "", set[str]()
    try:
        while True:
            batch = (
                await ServiceRequest.find(
                    {
                        "payment_required": True,
                        "state": {"$in": [s.value for s in SETTLING_STATES]},
                        "updated_at": {"$gte": now - SWEEP_LOOKBACK},
                        "created_key": {"$gt": cursor},
                    }
                )
                .sort("created_key")
                .limit(batch_size)
                .to_list()
            )
            executed += await _settle_batch(batch, client, now)
            seen.update(str(r.id) for r in batch)
            if len(batch) < batch_size:
                break
            cursor = batch[-1].created_key
        pending = (
            await PaymentInstruction.find({"executed_at": None, "attempts": {"$lt": MAX_ATTEMPTS}})
            .limit(batch_size)
            .to_list()
        )
        for instruction in pending:
            if instruction.request_id not in seen:  # those were tried above, in this run
                executed += (await execute(instruction, client, now))[1]
    except StripeUnavailable:
        log.warning("payments.sweep_deferred", executed=executed)
    return executed


async def _settle_batch(batch: list[ServiceRequest], client: stripe.StripeClient, now: datetime) -> int:
    ids = [r.id for r in batch]
    payments = {p.id: p for p in await BookingPayment.find({"_id": {"$in": ids}}).to_list()}
    claimed: dict[str, dict[PaymentAction, PaymentInstruction]] = {}
    for found in await PaymentInstruction.find({"request_id": {"$in": [str(i) for i in ids]}}).to_list():
        claimed.setdefault(found.request_id, {})[found.action] = found
    executed = 0
    for request in batch:
        payment, mine = payments.get(request.id), claimed.get(str(request.id), {})
        if payment is None or _settled(decide(request, payment, mine), mine):
            continue
        executed += len(await _settle(request, payment, mine, client, now))
    return executed


def _settled(decisions: list[Decision], claimed: dict[PaymentAction, PaymentInstruction]) -> bool:
    return all(d.action in claimed and claimed[d.action].executed_at is not None for d in decisions)
