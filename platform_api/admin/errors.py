"""Failures of the admin API and its console."""

from platform_api.errors import Conflict, NotFound, ServiceUnavailable


class UserNotFound(NotFound):
    code = "user_not_found"
    message = "No such user."


class CannotSuspendSelf(Conflict):
    code = "cannot_suspend_self"
    message = "You cannot suspend yourself."


class BookingNotFound(NotFound):
    """A dispute whose booking, or one of its parties, is gone."""

    code = "booking_not_found"
    message = "The dispute's booking or one of its parties is missing."


class ConsoleNotBuilt(ServiceUnavailable):
    code = "console_not_built"
    message = "The admin console is not built: run `.venv/bin/python -m scripts.console build`."
