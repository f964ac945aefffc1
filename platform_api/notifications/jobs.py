"""The notifications domain's periodic work (run by `platform_api.scheduler`)."""

from datetime import datetime

from platform_api.notifications.mailer import Mailer
from platform_api.notifications.relay import NotificationRelay
from platform_api.scheduling import Job, JobEnv


def _relay(env: JobEnv) -> NotificationRelay:
    """The relay keeps its backoff between runs (the chat server unreachable: wait, do not hammer)."""
    kept = env.kept.get("notifications.relay")
    if not isinstance(kept, NotificationRelay):
        kept = env.kept["notifications.relay"] = NotificationRelay(env.realtime, env.clock)
    return kept


async def relay(env: JobEnv, now: datetime) -> int:
    """notifications.relay: notify every waiting domain event through the one creation path; returns how
    many events were dispatched."""
    return await _relay(env).drain()


async def send_mail(env: JobEnv, now: datetime) -> int:
    """notifications.mail: send the mail that is due; returns how many went out."""
    return await Mailer(env.settings).send_due(now)


JOBS = [
    Job("notifications.relay", relay, every=lambda s: s.notify_relay_interval_seconds),
    Job("notifications.mail", send_mail, every=lambda s: s.mail_interval_seconds),
]
