"""Beanie documents, one module per aggregate."""

from shared_models.documents.providers import ProviderProfile, ServiceArea
from shared_models.documents.sessions import RevokedSession
from shared_models.documents.users import User

__all__ = ["ProviderProfile", "RevokedSession", "ServiceArea", "User"]
