"""Bring a database written by an earlier version up to date. Idempotent: a second run changes nothing, so
the dev launcher runs it at every start; in production run it once per release, before the new services.

    python -m scripts.migrate

Raw collection calls, before any index is built (`init_models`): a unique index on data that is not yet
migrated would refuse to build on MongoDB.

1. Messages get `seq`, their place in their conversation (it replaced the time-based `seq_key`): numbered
   per conversation in their old order, after any already numbered.
2. Conversations get `last_seq` (the seq of their preview) and read markers as seqs (`*_read_seq`, and the
   message they name, `*_read_id`) in place of `*_read_key`.
3. The unique index on `messages.dedupe_key` goes: a message's id is now derived from its sender and
   clientId, so new messages carry no such field, and MongoDB would count their missing values as one.
   (A resend of a message stored before the upgrade is stored again: resends come within minutes.)
4. Account emails take their canonical form (`canonical_email`: NFC local part, IDNA-mapped domain, lower
   case), and the mail records addressed to an old spelling follow it (the GDPR export finds them by
   address). An address that would collide with another account's, or that email-validator rejects, is
   left as it is and reported: an admin decides.
5. Search reads each provider's standing (tier while its subscription is in good standing) from its
   coverage rows: rows written before that are dropped and their listings marked for a rebuild, which the
   platform's sweeper makes within a sweep (`index_pending_since`; the rebuild reads the subscription).
"""

import asyncio
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo.asynchronous.database import AsyncDatabase

from shared_models.documents.users import InvalidEmail, canonical_email
from shared_models.runtime.registry import connect
from shared_models.runtime.settings import CommonSettings

SIDES = ("customer", "provider")
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


async def number_messages(db: AsyncDatabase[dict[str, Any]]) -> int:
    """Give every message without `seq` its place; returns how many were numbered."""
    messages = db["messages"]
    unnumbered = await messages.find({"seq": {"$exists": False}}, {"conversation_id": 1}).to_list()
    numbered = 0
    for conversation_id in sorted({str(m["conversation_id"]) for m in unnumbered}):
        newest = (
            await messages.find({"conversation_id": conversation_id, "seq": {"$exists": True}}, {"seq": 1})
            .sort("seq", -1)
            .limit(1)
            .to_list()
        )
        seq = int(newest[0]["seq"]) if newest else 0
        old = await messages.find(
            {"conversation_id": conversation_id, "seq": {"$exists": False}}, {"seq_key": 1, "created_at": 1}
        ).to_list()
        for message in sorted(old, key=lambda m: (str(m.get("seq_key", "")), str(m["_id"]))):
            seq += 1
            await messages.update_one(
                {"_id": message["_id"]}, {"$set": {"seq": seq}, "$unset": {"seq_key": ""}}
            )
            numbered += 1
    return numbered


async def update_conversations(db: AsyncDatabase[dict[str, Any]]) -> int:
    """Set `last_seq` and seq read markers where they are missing; returns how many conversations changed."""
    messages, conversations = db["messages"], db["conversations"]
    changed = 0
    async for conversation in conversations.find({"last_seq": {"$exists": False}}):
        conversation_id = str(conversation["_id"])
        update: dict[str, Any] = {}
        last = conversation.get("last_message") or {}
        if last.get("message_id"):
            stored = await messages.find_one({"_id": _oid(last["message_id"])}, {"seq": 1})
            seq = int(stored["seq"]) if stored else 0
            update["last_seq"] = seq
            update["last_message.seq"] = seq
        else:
            update["last_seq"] = 0
        for side in SIDES:
            key = conversation.get(f"{side}_read_key")
            marker = await _message_at(messages, conversation_id, key) if key else None
            update[f"{side}_read_seq"] = int(marker["seq"]) if marker else 0
            update[f"{side}_read_id"] = str(marker["_id"]) if marker else None
        await conversations.update_one(
            {"_id": conversation["_id"]},
            {"$set": update, "$unset": {f"{side}_read_key": "" for side in SIDES}},
        )
        changed += 1
    return changed


async def _message_at(messages: Any, conversation_id: str, seq_key: str) -> dict[str, Any] | None:
    """The message an old read marker (a `seq_key`) named; its id is the key's suffix."""
    message_id = seq_key.rsplit("-", 1)[-1]
    found: dict[str, Any] | None = await messages.find_one(
        {"_id": _oid(message_id), "conversation_id": conversation_id}, {"seq": 1}
    )
    return found


def _oid(value: str) -> Any:
    try:
        return ObjectId(value)
    except (InvalidId, TypeError):
        return value


async def drop_dedupe_index(db: AsyncDatabase[dict[str, Any]]) -> int:
    """Drop the unique index on `messages.dedupe_key` if there is one; returns how many were dropped."""
    dropped = 0
    for name, spec in (await db["messages"].index_information()).items():
        if [field for field, _ in spec["key"]] == ["dedupe_key"]:
            await db["messages"].drop_index(name)
            dropped += 1
    return dropped


async def canonicalise_emails(db: AsyncDatabase[dict[str, Any]]) -> int:
    """Rewrite account emails not in their canonical form; returns how many accounts changed."""
    users = db["users"]
    accounts = await users.find({}, {"email": 1}).to_list()
    taken = {str(a["email"]) for a in accounts}
    changed = 0
    for account in accounts:
        old = str(account["email"])
        try:
            new = canonical_email(old)
        except InvalidEmail as exc:
            print(f"left as it is (not a valid address: {exc}): account {account['_id']} {old!r}")
            continue
        if new == old:
            continue
        if new in taken:
            print(
                f"left as it is (collides with another account's {new!r}): account {account['_id']} {old!r}"
            )
            continue
        await users.update_one({"_id": account["_id"], "email": old}, {"$set": {"email": new}})
        await db["email_outbox"].update_many({"to": old}, {"$set": {"to": new}})
        taken.add(new)
        changed += 1
    return changed


async def project_standings(db: AsyncDatabase[dict[str, Any]]) -> int:
    """Step 5: drop the coverage rows that carry no standing and mark their listings for the sweeper to
    rebuild (`index_pending_since`, long past; the rebuild reads the subscription). Returns how many."""
    rows, profiles = db["provider_coverage"], db["provider_profiles"]
    stale = await rows.find({"standing_version": {"$exists": False}}, {"provider_id": 1}).to_list(None)
    marked = 0
    for provider_id in sorted({row["provider_id"] for row in stale}):
        await rows.delete_many({"provider_id": provider_id, "standing_version": {"$exists": False}})
        # Replaced whole (never a `$set` of a top-level datetime: the embedded engine would store a string),
        # under the profile's compare-and-set, re-read and retried when an edit lands in between.
        while (profile := await profiles.find_one({"_id": _oid(provider_id)})) is not None:
            profile["index_pending_since"] = LONG_AGO
            done = await profiles.replace_one({"_id": profile["_id"], "version": profile["version"]}, profile)
            if done.matched_count:
                marked += 1
                break
    return marked


async def migrate(uri: str, db_name: str, timeout_ms: int = 10_000) -> dict[str, int]:
    client = connect(uri, timeout_ms)
    try:
        db = client[db_name]
        return {
            "messages numbered": await number_messages(db),
            "conversations updated": await update_conversations(db),
            "indexes dropped": await drop_dedupe_index(db),
            "emails canonicalised": await canonicalise_emails(db),
            "listings marked for a rebuild with their standing": await project_standings(db),
        }
    finally:
        await client.close()


def main() -> int:
    settings = CommonSettings()
    done = asyncio.run(migrate(settings.mongodb_uri, settings.mongodb_db, settings.mongodb_timeout_ms))
    print(", ".join(f"{what}: {n}" for what, n in done.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
