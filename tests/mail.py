"""The real SMTP sink for mail tests, and reading what it received."""

import email
import re
from email.message import EmailMessage
from email.policy import default
from pathlib import Path


def inbox(maildir: Path, address: str) -> list[EmailMessage]:
    found = [email.message_from_bytes(p.read_bytes(), policy=default) for p in sorted(maildir.glob("*.eml"))]
    return [m for m in found if isinstance(m, EmailMessage) and m["To"] == address]


def text_of(message: EmailMessage) -> str:
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    assert isinstance(part, EmailMessage)
    content: str = part.get_content()
    return content


def link_token(message: EmailMessage) -> str:
    match = re.search(r"https?://\S+\?token=([A-Za-z0-9_.-]+)", text_of(message))
    assert match, text_of(message)
    return match.group(1)
