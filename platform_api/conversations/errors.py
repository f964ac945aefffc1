"""Failures of the conversation routes (refusals of chat events are `shared_models.services.conversations`')."""

from platform_api.errors import NotFound


class ConversationNotFound(NotFound):
    code = "conversation_not_found"
    message = "No such conversation."
