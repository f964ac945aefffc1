"""Queueing mail for the platform's mail job: the one way both services add to `email_outbox`."""

import contextlib
from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from shared_models.documents import EmailMessage
from shared_models.ids import time_key


async def queue_mail(
    key: str, to: str, subject: str, template: str, context: dict[str, Any], now: datetime, **fields: Any
) -> bool:
    """Queue a templated message, due now; False if one with this key was queued before (never mailed
    twice for the same key)."""
    with contextlib.suppress(DuplicateKeyError):
        await EmailMessage(
            key=key,
            to=to,
            subject=subject,
            template=template,
            context=context,
            next_attempt_key=time_key(now),
            created_at=now,
            **fields,
        ).insert()
        return True
    return False
