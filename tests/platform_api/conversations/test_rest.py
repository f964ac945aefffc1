"""Conversation REST: who may start one with whom, listing with unread counts, cursors, access."""

from datetime import timedelta

import httpx

from shared_models.clock import ManualClock
from shared_models.documents import Conversation
from shared_models.enums import Role
from shared_models.services import conversations
from tests.factories import API, register
from tests.platform_api.bookings.helpers import Parties, book


async def start(api: httpx.AsyncClient, who: object, **body: object) -> httpx.Response:
    return await api.post(f"{API}/conversations", json=body, headers=who.bearer)  # type: ignore[attr-defined]


async def test_customer_starts_with_a_provider_and_gets_the_same_one_again(
    api: httpx.AsyncClient, parties: Parties
) -> None:
    first = await start(api, parties.customer, provider_id=parties.provider_id)
    assert first.status_code == 201
    body = first.json()
    assert body["customer_id"] == parties.customer.id and body["provider_user_id"] == parties.provider.id
    assert body["counterpart_id"] == parties.provider.id and body["unread"] == 0
    again = await start(api, parties.customer, provider_id=parties.provider_id)
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert await Conversation.count() == 1


async def test_provider_starts_from_a_request_and_lands_in_the_pairs_conversation(
    api: httpx.AsyncClient, parties: Parties, clock: ManualClock
) -> None:
    request = await book(api, parties, clock.now())
    by_provider = await start(api, parties.provider, request_id=request["id"])
    assert by_provider.status_code == 201
    assert by_provider.json()["counterpart_id"] == parties.customer.id
    assert by_provider.json()["request_id"] == request["id"]
    by_customer = await start(api, parties.customer, provider_id=parties.provider_id)
    assert by_customer.status_code == 200 and by_customer.json()["id"] == by_provider.json()["id"]


async def test_starting_is_validated(api: httpx.AsyncClient, parties: Parties, clock: ManualClock) -> None:
    request = await book(api, parties, clock.now())
    cases = [
        (parties.provider, {"provider_id": parties.provider_id}, "request_id"),
        (parties.customer, {}, "provider_id"),
        (parties.customer, {"provider_id": "6650f0c2a1b2c3d4e5f60718"}, "provider_id"),
        (parties.other_customer, {"request_id": request["id"]}, "request_id"),
        (parties.other_provider, {"request_id": request["id"]}, "request_id"),
        (parties.customer, {"provider_id": parties.provider_id, "nope": 1}, "nope"),
    ]
    for who, body, field in cases:
        response = await start(api, who, **body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"]["field"] == field
    assert await Conversation.count() == 0


async def test_list_is_newest_activity_first_with_unread_counts_and_cursor(
    api: httpx.AsyncClient, parties: Parties, clock: ManualClock
) -> None:
    with_provider = (await start(api, parties.customer, provider_id=parties.provider_id)).json()["id"]
    clock.advance(timedelta(seconds=1))
    other_provider_id = parties.other_provider.body["provider"]["id"]
    with_other = (await start(api, parties.customer, provider_id=other_provider_id)).json()["id"]
    clock.advance(timedelta(seconds=1))
    conversation = await Conversation.get(with_provider)
    assert conversation is not None
    for i in range(3):
        clock.advance(timedelta(seconds=1))
        await conversations.send(conversation, parties.provider.id, f"quote {i}", [], f"c{i}", clock.now())

    page1 = (
        await api.get(f"{API}/conversations", params={"limit": 1}, headers=parties.customer.bearer)
    ).json()
    assert [c["id"] for c in page1["items"]] == [with_provider]  # the newest message moved it to the top
    assert page1["items"][0]["unread"] == 3 and page1["items"][0]["last_message"]["preview"] == "quote 2"
    page2 = (
        await api.get(
            f"{API}/conversations",
            params={"limit": 1, "cursor": page1["next_cursor"]},
            headers=parties.customer.bearer,
        )
    ).json()
    assert [c["id"] for c in page2["items"]] == [with_other] and page2["next_cursor"] is None
    provider_view = (await api.get(f"{API}/conversations", headers=parties.provider.bearer)).json()
    assert [c["unread"] for c in provider_view["items"]] == [0]  # their own messages are not unread to them
    assert (await api.get(f"{API}/conversations", headers=parties.other_customer.bearer)).json()[
        "items"
    ] == []


async def test_only_parties_use_conversations(
    api: httpx.AsyncClient, parties: Parties, clock: ManualClock
) -> None:
    from platform_api.auth.service import auth_service
    from tests.factories import PASSWORD, account_of

    conversation_id = (await start(api, parties.customer, provider_id=parties.provider_id)).json()["id"]
    await auth_service.create_admin("admin-chat@example.com", PASSWORD, "Admin", clock)
    login = await api.post(
        f"{API}/auth/login", json={"email": "admin-chat@example.com", "password": PASSWORD}
    )
    admin = account_of(login.json())
    assert (await api.get(f"{API}/conversations", headers=admin.bearer)).status_code == 403
    for stranger in (parties.other_customer, parties.other_provider):
        for method, path in (("GET", ""), ("GET", "/messages"), ("PUT", "/block"), ("DELETE", "/block")):
            response = await api.request(
                method, f"{API}/conversations/{conversation_id}{path}", headers=stranger.bearer
            )
            assert response.status_code == 404, (method, path)
    assert (await api.get(f"{API}/conversations/zzz", headers=parties.customer.bearer)).status_code == 404


async def test_a_preview_the_chat_server_never_wrote_is_repaired_on_read(
    api: httpx.AsyncClient, parties: Parties, clock: ManualClock
) -> None:
    """Messages stored without their conversation's activity (the chat server coalesces it, and was killed
    before writing it): the conversation as read over REST shows the newest one, and keeps it."""
    started = (await start(api, parties.customer, provider_id=parties.provider_id)).json()
    conversation = await Conversation.get(started["id"])
    assert conversation is not None
    members = conversations.Members.of(conversation)
    batch = [
        conversations.Outgoing(
            members, parties.customer.id, f"lost {i}", [], f"lost-{i}", clock.now(), seq=i + 1
        )
        for i in range(3)
    ]
    assert all(w.created for w in await conversations.insert_messages(batch))
    assert (await Conversation.get(started["id"])).last_message is None  # type: ignore[union-attr]
    for who in (parties.provider, parties.customer):
        shown = (await api.get(f"{API}/conversations/{started['id']}", headers=who.bearer)).json()
        assert shown["last_message"]["preview"] == "lost 2" and shown["last_message"]["seq"] == 3
    listed = (await api.get(f"{API}/conversations", headers=parties.provider.bearer)).json()["items"]
    assert listed[0]["last_message"]["message_id"] == str(batch[2].id)
    stored = await Conversation.get(started["id"])
    assert stored is not None and stored.last_seq == 3


async def test_a_list_shows_repaired_conversations_in_their_current_order(
    api: httpx.AsyncClient, parties: Parties, clock: ManualClock
) -> None:
    """The provider's older conversation got messages whose activity was never written, after the newer
    conversation's last activity: listed, it comes first (as repaired), and paging loses nothing."""
    older = (await start(api, parties.customer, provider_id=parties.provider_id)).json()
    clock.advance(timedelta(seconds=1))
    other_customer = await register(api, Role.customer)
    newer = (await start(api, other_customer, provider_id=parties.provider_id)).json()
    clock.advance(timedelta(seconds=1))
    conversation = await Conversation.get(older["id"])
    assert conversation is not None
    lost = conversations.Outgoing(
        conversations.Members.of(conversation), parties.customer.id, "lost", [], "lost", clock.now(), seq=1
    )
    assert all(w.created for w in await conversations.insert_messages([lost]))
    listed = (await api.get(f"{API}/conversations", headers=parties.provider.bearer)).json()
    assert [c["id"] for c in listed["items"]] == [older["id"], newer["id"]]
    assert listed["items"][0]["last_message"]["preview"] == "lost"
    paged, cursor = [], None
    while True:
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = (await api.get(f"{API}/conversations", params=params, headers=parties.provider.bearer)).json()
        paged += [c["id"] for c in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert sorted(paged) == sorted([older["id"], newer["id"]])
