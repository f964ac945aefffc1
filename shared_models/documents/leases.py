"""Leases: which scheduler instance runs a periodic job now, so two instances do not waste work."""

from datetime import datetime
from typing import Annotated

from beanie import Document, Indexed


class JobLease(Document):
    name: Annotated[str, Indexed(unique=True)]
    holder: str
    expires_at: datetime

    class Settings:
        name = "job_leases"
