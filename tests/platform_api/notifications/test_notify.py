"""The one creation path: presence decides, repeats collapse, email has its own window, preferences hold,
and each (source event, recipient) counts once — also when retried after a crash."""

from datetime import timedelta

import httpx
import pytest
from bson import ObjectId

from shared_models.clock import ManualClock
from shared_models.documents import EmailMessage, Notification, NotificationClaim
from shared_models.enums import Role
from shared_models.ids import time_key
from shared_models.notifications import CATALOGUE
from shared_models.services.notifications import CLAIM_LEASE, SOURCES_KEPT, Presence, notify, notify_many
from tests.factories import API, Account, register

OFFLINE = Presence(online=False, engaged=False)
ELSEWHERE = Presence(online=True, engaged=False)
LOOKING = Presence(online=True, engaged=True)
MESSAGE = CATALOGUE["new_message"]


@pytest.fixture
async def user(api: httpx.AsyncClient) -> Account:
    return await register(api, Role.customer)


def message(user: Account, n: int, conversation: str = "c" * 24) -> dict[str, str]:
    return {
        "conversation_id": conversation,
        "sender_id": "s" * 24,
        "recipient_id": user.id,
        "message_id": f"{n:024x}",
        "preview": f"message {n}",
    }


async def test_twenty_messages_in_ten_seconds_make_one_notification_and_one_email(
    user: Account, clock: ManualClock
) -> None:
    for n in range(20):
        await notify(MESSAGE, user.id, f"message:{n}", message(user, n), OFFLINE, clock.now())
        clock.advance(timedelta(milliseconds=500))
    stored = await Notification.find({"recipient_id": user.id}).to_list()
    assert len(stored) == 1 and stored[0].occurrences == 20 and stored[0].body == "message 19"
    assert (
        await EmailMessage.find(
            EmailMessage.to == user.email, EmailMessage.template == "notification"
        ).count()
        == 1
    )


async def test_after_the_window_a_new_notification_but_no_second_email_until_the_mail_window(
    user: Account, clock: ManualClock
) -> None:
    await notify(MESSAGE, user.id, "m:1", message(user, 1), OFFLINE, clock.now())
    clock.advance(MESSAGE.dedup_window)
    await notify(MESSAGE, user.id, "m:2", message(user, 2), OFFLINE, clock.now())
    assert await Notification.find({"recipient_id": user.id}).count() == 2  # the 60 s window closed
    assert (
        await EmailMessage.find(
            EmailMessage.to == user.email, EmailMessage.template == "notification"
        ).count()
        == 1
    )  # the 15 min one did not
    clock.advance(MESSAGE.email_window)
    await notify(MESSAGE, user.id, "m:3", message(user, 3), OFFLINE, clock.now())
    assert (
        await EmailMessage.find(
            EmailMessage.to == user.email, EmailMessage.template == "notification"
        ).count()
        == 2
    )


async def test_a_read_notification_absorbs_nothing(user: Account, clock: ManualClock) -> None:
    first = await notify(MESSAGE, user.id, "m:1", message(user, 1), ELSEWHERE, clock.now())
    assert first.notification is not None
    read = await httpx_read(first.notification)
    second = await notify(MESSAGE, user.id, "m:2", message(user, 2), ELSEWHERE, clock.now())
    assert second.notification is not None and second.notification.id != read.id


async def httpx_read(notification: Notification) -> Notification:
    from platform_api.notifications.service import notification_service

    return await notification_service.mark_read(notification, notification.updated_at)


async def test_presence_decides(user: Account, clock: ManualClock) -> None:
    looking = await notify(MESSAGE, user.id, "m:1", message(user, 1, "a" * 24), LOOKING, clock.now())
    assert looking.notification is None and looking.reason == "engaged" and not looking.realtime
    elsewhere = await notify(MESSAGE, user.id, "m:2", message(user, 2, "b" * 24), ELSEWHERE, clock.now())
    assert elsewhere.notification is not None and elsewhere.realtime and not elsewhere.emailed
    offline = await notify(MESSAGE, user.id, "m:3", message(user, 3, "c" * 24), OFFLINE, clock.now())
    assert offline.notification is not None and offline.emailed and not offline.realtime
    # The skipped one stays skipped: a retry of the same event does not create it later.
    again = await notify(MESSAGE, user.id, "m:1", message(user, 1, "a" * 24), OFFLINE, clock.now())
    assert again.notification is None and again.reason == "duplicate"
    assert await Notification.find({"recipient_id": user.id}).count() == 2


async def test_the_same_source_counts_once_even_after_a_crash_mid_way(
    user: Account, clock: ManualClock
) -> None:
    await notify(MESSAGE, user.id, "m:1", message(user, 1), OFFLINE, clock.now())
    for _ in range(3):  # plain redelivery
        await notify(MESSAGE, user.id, "m:1", message(user, 1), OFFLINE, clock.now())
    # A crash after the claim of m:2, before its effect: the claim names the open notification.
    opened = await Notification.find_one({"recipient_id": user.id})
    assert opened is not None and opened.occurrences == 1
    await NotificationClaim(
        key=f"m:2:{user.id}", notification_id=str(opened.id), created_at=clock.now()
    ).insert()
    retried = await notify(MESSAGE, user.id, "m:2", message(user, 2), OFFLINE, clock.now())
    assert retried.notification is not None and retried.notification.occurrences == 2
    await notify(MESSAGE, user.id, "m:2", message(user, 2), OFFLINE, clock.now())
    final = await Notification.find({"recipient_id": user.id}).to_list()
    assert [n.occurrences for n in final] == [2]
    assert (
        await EmailMessage.find(
            EmailMessage.to == user.email, EmailMessage.template == "notification"
        ).count()
        == 1
    )


async def test_a_source_whose_first_delivery_is_in_flight_is_left_to_it_however_many_sources_came_between(
    user: Account, clock: ManualClock
) -> None:
    # The first delivery of m:0 folded it, and has not yet marked its claim done; meanwhile more sources
    # than a notification keeps ids of were folded. A second delivery of m:0 (a resend through another
    # instance) must not count it again.
    await notify(MESSAGE, user.id, "m:0", message(user, 0), OFFLINE, clock.now())
    await notify_many(
        MESSAGE,
        user.id,
        [(f"m:{n}", message(user, n)) for n in range(1, SOURCES_KEPT + 5)],
        OFFLINE,
        clock.now(),
    )
    await NotificationClaim.find_one(NotificationClaim.key == f"m:0:{user.id}").update(
        {"$set": {"applied": False, "held_until_key": time_key(clock.now() + CLAIM_LEASE)}}
    )
    again = await notify(MESSAGE, user.id, "m:0", message(user, 0), OFFLINE, clock.now())
    assert again.reason == "duplicate" and again.notification is None
    (stored,) = await Notification.find({"recipient_id": user.id}).to_list()
    assert stored.occurrences == SOURCES_KEPT + 5


async def test_a_claim_whose_delivery_crashed_is_taken_over_after_its_lease(
    user: Account, clock: ManualClock
) -> None:
    # A delivery claimed m:1 and died before its effect: its claim stays held until the lease passes.
    await NotificationClaim(
        key=f"m:1:{user.id}",
        notification_id=str(ObjectId()),
        held_until_key=time_key(clock.now() + CLAIM_LEASE),
        created_at=clock.now(),
    ).insert()
    early = await notify(MESSAGE, user.id, "m:1", message(user, 1), OFFLINE, clock.now())
    assert early.notification is None and await Notification.find({"recipient_id": user.id}).count() == 0
    clock.advance(CLAIM_LEASE + timedelta(milliseconds=1))
    late = await notify(MESSAGE, user.id, "m:1", message(user, 1), OFFLINE, clock.now())
    assert late.notification is not None and late.notification.occurrences == 1
    again = await notify(MESSAGE, user.id, "m:1", message(user, 1), OFFLINE, clock.now())
    assert again.reason == "duplicate"
    assert [n.occurrences for n in await Notification.find({"recipient_id": user.id}).to_list()] == [1]


async def test_preferences_turn_channels_off_but_not_mandatory_email(
    api: httpx.AsyncClient, user: Account, clock: ManualClock
) -> None:
    off = ["new_message:email", "new_message:realtime", "request_created:realtime"]
    assert (
        await api.put(f"{API}/notifications/preferences", json={"disabled": off}, headers=user.bearer)
    ).status_code == 200
    quiet = await notify(MESSAGE, user.id, "m:1", message(user, 1), ELSEWHERE, clock.now())
    assert quiet.notification is not None and not quiet.realtime  # stored, not pushed
    offline = await notify(MESSAGE, user.id, "m:2", message(user, 2, "d" * 24), OFFLINE, clock.now())
    assert offline.notification is not None and not offline.emailed
    suspended = CATALOGUE["account_suspended"]
    mandatory = await notify(suspended, user.id, "s:1", {"recipient_id": user.id}, OFFLINE, clock.now())
    assert mandatory.emailed
    refused = await api.put(
        f"{API}/notifications/preferences",
        json={"disabled": ["account_suspended:email"]},
        headers=user.bearer,
    )
    assert refused.status_code == 422 and refused.json()["error"]["field"].startswith("disabled")
