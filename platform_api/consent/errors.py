"""Failures of consent: the one-click unsubscribe link."""

from platform_api.errors import BadRequest


class UnsubscribeInvalid(BadRequest):
    code = "unsubscribe_link_invalid"
    message = "This unsubscribe link is not valid."
