"""`scripts.migrate` brings data written by earlier versions up to date, once: per-conversation sequences,
and account emails in their canonical form."""

from datetime import UTC, datetime, timedelta

from bson import ObjectId
from pymongo import AsyncMongoClient

from scripts.migrate import migrate
from shared_models.documents import Conversation, Message
from shared_models.ids import sortable_key
from shared_models.runtime.registry import init_models
from shared_models.services.conversations import unread_count
from tests.conftest import Engine

CUSTOMER, PROVIDER = "c" * 24, "d" * 24


async def test_old_messages_get_their_order_and_markers_their_seq(engine: Engine, db_name: str) -> None:
    raw: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(engine.uri, tz_aware=True)
    db = raw[db_name]
    start = datetime(2026, 11, 1, tzinfo=UTC)
    conversation_id = ObjectId()
    # Inserted out of order: the old order is the seq_key (time, then id), not the insertion order.
    ids = [ObjectId() for _ in range(4)]
    at = [start + timedelta(seconds=s) for s in (3, 1, 2, 4)]
    senders = [CUSTOMER, CUSTOMER, PROVIDER, CUSTOMER]
    await db["messages"].insert_many(
        [
            {
                "_id": ids[i],
                "conversation_id": str(conversation_id),
                "sender_id": senders[i],
                "body": f"m{i}",
                "attachments": [],
                "client_id": f"c{i}",
                "dedupe_key": f"{senders[i]}:c{i}",
                "seq_key": sortable_key(at[i], ids[i]),
                "created_at": at[i],
            }
            for i in range(4)
        ]
    )
    await db["conversations"].insert_one(
        {
            "_id": conversation_id,
            "customer_id": CUSTOMER,
            "provider_user_id": PROVIDER,
            "provider_id": "e" * 24,
            "pair_key": f"{CUSTOMER}:{PROVIDER}",
            "last_message": {"message_id": str(ids[3]), "sender_id": CUSTOMER, "preview": "m3", "at": at[3]},
            "provider_read_key": sortable_key(at[0], ids[0]),  # the provider read up to m0 (3rd in time)
            "customer_blocked": False,
            "provider_blocked": False,
            "activity_key": sortable_key(at[3], ids[3]),
            "created_at": start,
        }
    )

    await db["messages"].create_index("dedupe_key", unique=True)  # what the old version built
    assert await migrate(engine.uri, db_name) == {
        "messages numbered": 4,
        "conversations updated": 1,
        "indexes dropped": 1,
        "emails canonicalised": 0,
        "listings marked for a rebuild with their standing": 0,
    }
    assert await migrate(engine.uri, db_name) == {
        "messages numbered": 0,
        "conversations updated": 0,
        "indexes dropped": 0,
        "emails canonicalised": 0,
        "listings marked for a rebuild with their standing": 0,
    }

    order = await db["messages"].find({}, {"seq": 1, "body": 1}).sort("seq", 1).to_list()
    assert [(m["body"], m["seq"]) for m in order] == [("m1", 1), ("m2", 2), ("m0", 3), ("m3", 4)]
    await init_models(raw, db_name)  # the new indexes build on the migrated data
    conversation = await Conversation.get(conversation_id)
    assert conversation is not None
    assert conversation.last_seq == 4 and conversation.last_message is not None
    assert conversation.last_message.seq == 4
    assert (conversation.provider_read_seq, conversation.provider_read_id) == (3, str(ids[0]))
    assert (conversation.customer_read_seq, conversation.customer_read_id) == (0, None)
    assert await unread_count(conversation, PROVIDER) == 1  # m3, the customer's message after m0
    assert await unread_count(conversation, CUSTOMER) == 1  # m2, the provider's only message
    assert await Message.find({"conversation_id": str(conversation_id)}).count() == 4
    await raw.close()


async def test_account_emails_take_their_canonical_form_unless_that_collides(
    engine: Engine, db_name: str
) -> None:
    raw: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(engine.uri, tz_aware=True)
    db = raw[db_name]
    # Spellings an earlier version stored (it only lower-cased): decomposed ü, a Unicode domain, a spelling
    # whose canonical form another account already has, and one email-validator rejects.
    stored = {
        "decomposed": "ju\u0308rgen@example.com",
        "unicode domain": "ada@b\u00fccher.de",
        "taken": "sam@example.com",
        "collides": "sam@EXAMPLE.com",
        "invalid": "root@localhost",
    }
    ids = {name: ObjectId() for name in stored}
    await db["users"].insert_many([{"_id": ids[name], "email": email} for name, email in stored.items()])
    await db["email_outbox"].insert_one({"to": stored["decomposed"], "subject": "Welcome"})

    assert (await migrate(engine.uri, db_name))["emails canonicalised"] == 2
    assert (await migrate(engine.uri, db_name))["emails canonicalised"] == 0

    now = {str(u["_id"]): u["email"] for u in await db["users"].find({}).to_list()}
    assert now == {
        str(ids["decomposed"]): "j\u00fcrgen@example.com",
        str(ids["unicode domain"]): "ada@xn--bcher-kva.de",
        str(ids["taken"]): "sam@example.com",
        str(ids["collides"]): "sam@EXAMPLE.com",
        str(ids["invalid"]): "root@localhost",
    }
    assert [m["to"] for m in await db["email_outbox"].find({}).to_list()] == ["j\u00fcrgen@example.com"]
    await raw.close()
