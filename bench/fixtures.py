"""What the benchmarks seed directly in the database (no HTTP, no password hashing)."""

from datetime import datetime

from shared_models.documents import User
from shared_models.enums import Role


async def make_user(email: str, role: Role, now: datetime) -> User:
    return await User(
        email=email, password_hash="x", role=role, display_name=role.value, created_at=now, updated_at=now
    ).insert()
