"""The notifications domain's part of GDPR export and erasure: notifications, their delivery log, the
preferences, and the mail queued for the account (all deleted with it)."""

from datetime import datetime

from platform_api.privacy import Section, Subject, find_by
from shared_models.documents import EmailMessage, Notification, NotificationDelivery, NotificationPreferences

MODELS = ("Notification", "NotificationDelivery", "NotificationPreferences", "EmailMessage")


async def export_for(subject: Subject) -> dict[str, Section]:
    uid = subject.user_id
    return {
        "notifications": await find_by(Notification, "recipient_id", uid),
        "notification_deliveries": await find_by(NotificationDelivery, "recipient_id", uid),
        "notification_preferences": await find_by(NotificationPreferences, "user_id", uid),
        "emails": await find_by(EmailMessage, "to", subject.user.email),
    }


async def erase_for(subject: Subject, now: datetime) -> None:
    uid = subject.user_id
    await Notification.find({"recipient_id": uid}).delete()
    await NotificationDelivery.find({"recipient_id": uid}).delete()
    await NotificationPreferences.find({"user_id": uid}).delete()
    await EmailMessage.find({"to": subject.user.email}).delete()
