"""The mail job: sends queued email (`email_outbox`) over SMTP, with retries and backoff.

A message is claimed before sending (pending → sending, with a lease), so two workers never send it
together; a failure puts it back with a growing delay (30 s, 1 min, 2 min … 1 h), and after
`MAX_ATTEMPTS` it is marked failed (and the failure logged where "why did I not get it?" looks). The
Message-ID is derived from the message's key, so even a crash between sending and recording cannot
produce two different messages for one notification.
"""

import asyncio
import smtplib
from datetime import datetime, timedelta
from email.message import EmailMessage as MimeMessage
from email.utils import make_msgid
from pathlib import Path

import structlog
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from platform_api.config import Settings
from platform_api.consent.service import consent_service
from platform_api.consent.unsubscribe import unsubscribe_url
from shared_models import store
from shared_models.documents import EmailMessage, Notification
from shared_models.ids import time_key
from shared_models.notifications import Channel
from shared_models.services.notifications import log_delivery

log = structlog.get_logger(__name__)
MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=5)


def backoff(attempts: int) -> timedelta:
    delay: timedelta = min(timedelta(seconds=30) * 2 ** (attempts - 1), timedelta(hours=1))
    return delay


TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent.parent / "templates" / "email"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
)


def render(message: EmailMessage, unsubscribe: str | None) -> tuple[str, str | None]:
    """(text, html): a templated message rendered from its context, else its plain text."""
    if message.template is None:
        return message.text + (f"\n\nUnsubscribe: {unsubscribe}" if unsubscribe else ""), None
    context = {**message.context, "unsubscribe_url": unsubscribe}
    text = TEMPLATES.get_template(f"{message.template}.txt").render(context)
    html = TEMPLATES.get_template(f"{message.template}.html").render(context)
    return text, html


def _send(settings: Settings, message: EmailMessage) -> None:
    mime = MimeMessage()
    mime["From"] = settings.mail_from
    mime["To"] = message.to
    mime["Subject"] = message.subject
    mime["Message-ID"] = make_msgid(idstring=message.key.replace(":", "."), domain="marketplace.local")
    unsubscribe = None
    if message.unsubscribe_scope and message.user_id:
        # RFC 8058: mail clients offer a one-click unsubscribe that POSTs to this address.
        unsubscribe = unsubscribe_url(settings, message.user_id, message.unsubscribe_scope)
        mime["List-Unsubscribe"] = f"<{unsubscribe}>"
        mime["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    text, html = render(message, unsubscribe)
    mime.set_content(text)
    if html is not None:
        mime.add_alternative(html, subtype="html")
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
        smtp.send_message(mime)


class Mailer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send_due(self, now: datetime, batch: int = 50) -> int:
        """Send what is due; returns how many went out."""
        sent = 0
        for _ in range(batch):
            message = await self._claim(now)
            if message is None:
                break
            sent += await self._deliver(message, now)
        return sent

    async def _claim(self, now: datetime) -> EmailMessage | None:
        update = {"$set": {"status": "sending", "next_attempt_key": time_key(now + LEASE)}}
        for status in ("pending", "sending"):  # "sending" past its lease: a worker died mid-send
            raw = await store.update_if(
                EmailMessage,
                {"status": status, "next_attempt_key": {"$lte": time_key(now)}},
                update,
                sort=[("next_attempt_key", 1)],
            )
            if raw is not None:
                claimed: EmailMessage = EmailMessage.model_validate(raw)
                return claimed
        return None

    async def _deliver(self, message: EmailMessage, now: datetime) -> int:
        if message.category == "marketing" and not (
            message.user_id and await consent_service.marketing_opt_in(message.user_id)
        ):
            # Marketing goes only with a current opt-in (checked at sending time: consent may have changed).
            await store.update_one(
                EmailMessage,
                {"_id": message.id},
                {"$set": {"status": "suppressed", "last_error": "no marketing consent"}},
            )
            log.info("mail.suppressed", key=message.key)
            return 0
        notification = await Notification.get(message.notification_id) if message.notification_id else None
        recipient = notification.recipient_id if notification else None
        try:
            await asyncio.to_thread(_send, self.settings, message)
        except (OSError, smtplib.SMTPException) as exc:
            attempts = message.attempts + 1
            final = attempts >= MAX_ATTEMPTS
            await store.update_one(
                EmailMessage,
                {"_id": message.id},
                {
                    "$set": {
                        "status": "failed" if final else "pending",
                        "attempts": attempts,
                        "next_attempt_key": time_key(now + backoff(attempts)),
                        "last_error": f"{type(exc).__name__}: {exc}"[:500],
                    }
                },
            )
            log.warning("mail.failed", key=message.key, attempts=attempts, final=final, error=str(exc)[:200])
            if recipient is not None and notification is not None:
                status = "failed" if final else "retrying"
                await log_delivery(
                    notification, recipient, notification.type, Channel.email, status, now, str(exc)[:200]
                )
            return 0
        await store.update_one(
            EmailMessage, {"_id": message.id}, {"$set": {"status": "sent", "attempts": message.attempts + 1}}
        )
        if recipient is not None and notification is not None:
            await log_delivery(notification, recipient, notification.type, Channel.email, "sent", now)
        log.info("mail.sent", key=message.key)
        return 1
