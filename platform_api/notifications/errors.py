"""Failures of reading notifications and setting preferences."""

from platform_api.errors import NotFound, Unprocessable


class MandatoryType(Unprocessable):
    code = "mandatory_type"
    message = "This notification's email cannot be turned off."


class NotificationNotFound(NotFound):
    code = "notification_not_found"
    message = "No such notification."
