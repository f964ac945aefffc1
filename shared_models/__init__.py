"""Documents, enums and shared domain plumbing imported by both the platform API and the chat server.

No web code lives here: neither FastAPI nor Socket.IO is imported by this package.
"""

from shared_models.registry import DOCUMENT_MODELS, connect, init_models

__all__ = ["DOCUMENT_MODELS", "connect", "init_models"]
