"""The consent ledger: append a record per decision, derive current consent from the latest per kind.

Records are only ever inserted. Sign-up records the terms and privacy versions accepted (required) and the
marketing choice; later changes (settings, one-click unsubscribe) append new records with where they came
from.
"""

from dataclasses import dataclass
from datetime import datetime

from fastapi import Request

from platform_api.ratelimits import client_ip
from shared_models.documents import ConsentRecord
from shared_models.ids import time_key

MARKETING = "marketing_email"


@dataclass(frozen=True)
class Origin:
    source: str  # signup | settings | unsubscribe
    ip: str | None = None
    user_agent: str | None = None


def request_origin(request: Request, source: str) -> Origin:
    """Where a consent decision came from: the client's address and user agent."""
    return Origin(source, client_ip(request), request.headers.get("user-agent"))


class ConsentService:
    async def record(
        self,
        user_id: str,
        kind: str,
        granted: bool,
        origin: Origin,
        now: datetime,
        version: str | None = None,
    ) -> ConsentRecord:
        record = ConsentRecord(
            user_id=user_id,
            kind=kind,
            granted=granted,
            version=version,
            source=origin.source,
            ip=origin.ip,
            user_agent=(origin.user_agent or "")[:300] or None,
            at=now,
            at_key=time_key(now),
        )
        return await record.insert()

    async def history(self, user_id: str) -> list[ConsentRecord]:
        return await ConsentRecord.find({"user_id": user_id}).sort("-at_key").to_list()

    async def current(self, user_id: str) -> dict[str, ConsentRecord]:
        """The latest record of each kind: what the user agrees to now."""
        latest: dict[str, ConsentRecord] = {}
        for record in await self.history(user_id):
            latest.setdefault(record.kind, record)
        return latest

    async def marketing_opt_in(self, user_id: str) -> bool:
        latest = (
            await ConsentRecord.find({"user_id": user_id, "kind": MARKETING})
            .sort("-at_key")
            .limit(1)
            .to_list()
        )
        return bool(latest and latest[0].granted)

    async def remove_for(self, user_id: str) -> None:
        """Drop the records of an account that never completed sign-up (it never existed for anyone)."""
        await ConsentRecord.find({"user_id": user_id}).delete()


consent_service = ConsentService()
