"""The conversations domain's part of GDPR export: each conversation with its whole history (what the user
said and what was said to them), and what they sent taken from there (every message belongs to a
conversation of its sender's, so messages need no index by sender: one index fewer on the hottest insert
there is). Erasure keeps them (the counterpart needs them); the sender shows as the deleted account."""

from datetime import datetime

from platform_api.privacy import Section, Subject, find_by, public
from shared_models.documents import Conversation, Message

MODELS = ("Conversation", "Message")


async def export_for(subject: Subject) -> dict[str, Section]:
    sections = {
        "conversations_as_customer": await find_by(Conversation, "customer_id", subject.user_id),
        "conversations_as_provider": await find_by(Conversation, "provider_user_id", subject.user_id),
    }
    sent: Section = []
    for conversations in sections.values():
        for conversation in conversations:
            messages = await Message.find({"conversation_id": conversation["_id"]}).sort("seq").to_list()
            conversation["messages"] = [public(m) for m in messages]
            sent += [m for m in conversation["messages"] if m["sender_id"] == subject.user_id]
    return {**sections, "messages_sent": sent}


async def erase_for(subject: Subject, now: datetime) -> None:
    """Nothing to erase: conversations and messages stay for the counterpart."""
