"""Conversation routes: start one, list mine with unread counts, load history, block and unblock."""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from platform_api.bookings.errors import UnknownRequest
from platform_api.conversations.errors import ConversationNotFound
from platform_api.conversations.schemas import (
    ConversationOut,
    ConversationPage,
    MessageOut,
    MessagePage,
    StartConversation,
)
from platform_api.conversations.service import conversation_service
from platform_api.deps import READ_SESSION, WRITE_SESSION, ClockDep, PartySession, RealtimeDep
from platform_api.errors import (
    RoleForbidden,
    ValidationFailed,
    errors,
)
from platform_api.idempotency import IDEMPOTENT, IdempotentRoute
from platform_api.providers.errors import UnknownProvider
from shared_models.documents import Conversation
from shared_models.enums import Role
from shared_models.ids import SORTABLE_KEY_PATTERN
from shared_models.services import conversations

router = APIRouter(prefix="/conversations", tags=["chat"], route_class=IdempotentRoute)
Cursor = Annotated[str | None, Query(pattern=SORTABLE_KEY_PATTERN)]
# A message's `cursor` (its `seq`): only older messages.
Before = Annotated[int | None, Query(ge=1, le=2**53, description="A message's `cursor`: only older ones.")]
Limit = Annotated[int, Query(ge=1, le=100)]


async def _mine(conversation_id: str, session: PartySession) -> Conversation:
    conversation = await conversations.get_for_participant(conversation_id, session.user_id)
    if conversation is None:
        raise ConversationNotFound()
    return conversation


async def _out(conversation: Conversation, user_id: str) -> ConversationOut:
    return await _shaped(await conversations.with_current_activity(conversation), user_id)


async def _shaped(conversation: Conversation, user_id: str) -> ConversationOut:
    return ConversationOut.of(conversation, user_id, await conversations.unread_count(conversation, user_id))


@router.post(
    "",
    summary="Start (or reopen) the conversation with a provider or about a request",
    dependencies=[IDEMPOTENT],
    status_code=status.HTTP_201_CREATED,
    response_model=ConversationOut,
    responses={
        200: {"model": ConversationOut, "description": "It existed already"},
        **errors(*WRITE_SESSION, RoleForbidden, UnknownProvider, UnknownRequest, ValidationFailed),
    },
)
async def start_conversation(
    body: StartConversation, session: PartySession, clock: ClockDep, response: Response
) -> ConversationOut:
    conversation, created = await conversation_service.start(
        session.user, body.provider_id, body.request_id, clock.now()
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return await _out(conversation, session.user_id)


@router.get(
    "",
    summary="My conversations, newest activity first, with unread counts",
    response_model=ConversationPage,
    responses=errors(*READ_SESSION, RoleForbidden),
)
async def list_conversations(
    session: PartySession, cursor: Cursor = None, limit: Limit = 20
) -> ConversationPage:
    items = await conversations.list_for_user(
        session.user_id, session.user.role is Role.customer, cursor, limit + 1
    )
    page = items[:limit]
    current = [await conversations.with_current_activity(c) for c in page]
    # A conversation whose activity the read repaired may have moved up: the page is shown in its current
    # order. The cursor stays the key the last one was read at, so the next page neither skips nor repeats
    # (one that moved up is in this page already).
    current.sort(key=lambda c: c.activity_key, reverse=True)
    return ConversationPage(
        items=[await _shaped(c, session.user_id) for c in current],
        next_cursor=page[-1].activity_key if len(items) > limit else None,
    )


@router.get(
    "/{conversation_id}",
    summary="One of my conversations",
    response_model=ConversationOut,
    responses=errors(*READ_SESSION, RoleForbidden, ConversationNotFound),
)
async def get_conversation(conversation_id: str, session: PartySession) -> ConversationOut:
    return await _out(await _mine(conversation_id, session), session.user_id)


@router.get(
    "/{conversation_id}/messages",
    summary="Message history, newest first; pass `before` to page back",
    response_model=MessagePage,
    responses=errors(*READ_SESSION, RoleForbidden, ConversationNotFound),
)
async def list_messages(
    conversation_id: str, session: PartySession, before: Before = None, limit: Limit = 50
) -> MessagePage:
    conversation = await _mine(conversation_id, session)
    items = await conversations.page_messages(str(conversation.id), before, limit + 1)
    page = items[:limit]
    return MessagePage(
        items=[MessageOut.of(m) for m in page], next_cursor=str(page[-1].seq) if len(items) > limit else None
    )


@router.put(
    "/{conversation_id}/block",
    summary="Block the other participant: no messages, typing or presence pass until unblocked",
    response_model=ConversationOut,
    responses=errors(*WRITE_SESSION, RoleForbidden, ConversationNotFound),
)
async def block(
    conversation_id: str, session: PartySession, realtime: RealtimeDep, clock: ClockDep
) -> ConversationOut:
    conversation = await conversation_service.set_blocked(
        await _mine(conversation_id, session), session.user_id, True, realtime, clock.now()
    )
    return await _out(conversation, session.user_id)


@router.delete(
    "/{conversation_id}/block",
    summary="Unblock the other participant",
    response_model=ConversationOut,
    responses=errors(*WRITE_SESSION, RoleForbidden, ConversationNotFound),
)
async def unblock(
    conversation_id: str, session: PartySession, realtime: RealtimeDep, clock: ClockDep
) -> ConversationOut:
    conversation = await conversation_service.set_blocked(
        await _mine(conversation_id, session), session.user_id, False, realtime, clock.now()
    )
    return await _out(conversation, session.user_id)
