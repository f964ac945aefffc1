"""`shared_models.store.count` answers what a `find` with the same filter finds, on every kind of filter the
services count with (equality, range on an index, a boolean, nothing matching)."""

from datetime import UTC, datetime

from fastapi import FastAPI

from shared_models.documents import Message
from shared_models.store import count

CONVERSATIONS = ["a" * 24, "b" * 24]
SENDERS = ["c" * 24, "d" * 24]


async def test_counts_equal_what_find_finds(platform_app: FastAPI) -> None:
    now = datetime.now(UTC)
    await Message.insert_many(
        [
            Message(
                conversation_id=CONVERSATIONS[n % 2],
                sender_id=SENDERS[n % 3 % 2],
                body=f"message {n}",
                client_id=f"client-{n}",
                seq=n // 2 + 1,
                created_at=now,
            )
            for n in range(40)
        ]
    )
    filters = [
        {"conversation_id": CONVERSATIONS[0]},
        {"conversation_id": CONVERSATIONS[0], "sender_id": SENDERS[1]},
        {"conversation_id": CONVERSATIONS[1], "sender_id": SENDERS[0], "seq": {"$gt": 7}},
        {"conversation_id": CONVERSATIONS[1], "seq": {"$gt": 1000}},
        {"conversation_id": "e" * 24},
        {"deleted_at": {"$exists": False}},
    ]
    for query in filters:
        found = len(await Message.find(query).to_list())
        assert await count(Message, query) == found, query
    assert await count(Message, {"conversation_id": CONVERSATIONS[0]}) == 20
    assert await count(Message, {"conversation_id": "e" * 24}) == 0
