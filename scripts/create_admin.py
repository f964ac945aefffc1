"""Create an admin account (admins are never self-registered).

    python -m scripts.create_admin EMAIL [--name NAME]

The password is read from the ADMIN_PASSWORD variable, else from standard input (prompted on a terminal).
"""

import argparse
import asyncio
import getpass
import os
import sys

from platform_api.auth.schemas import PASSWORD_MIN_LENGTH
from platform_api.auth.service import auth_service
from platform_api.config import Settings
from platform_api.errors import Conflict
from shared_models.clock import SystemClock
from shared_models.documents.users import InvalidEmail
from shared_models.runtime.registry import connect, init_models


async def create_admin(settings: Settings, email: str, password: str, name: str) -> tuple[str, str]:
    """The new admin's id and its address as stored (canonical)."""
    client = connect(settings.mongodb_uri, settings.mongodb_timeout_ms)
    try:
        await init_models(client, settings.mongodb_db)
        user = await auth_service.create_admin(email, password, name, SystemClock())
        return str(user.id), user.email
    finally:
        await client.close()


def _read_password() -> str:
    if "ADMIN_PASSWORD" in os.environ:
        return os.environ["ADMIN_PASSWORD"]
    if sys.stdin.isatty():
        return getpass.getpass("Admin password: ")
    return sys.stdin.readline().rstrip("\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Create an admin account.")
    parser.add_argument("email")
    parser.add_argument("--name", default="Admin")
    args = parser.parse_args(argv)
    password = _read_password()
    if len(password) < PASSWORD_MIN_LENGTH:
        print(f"error: the password needs at least {PASSWORD_MIN_LENGTH} characters", file=sys.stderr)
        return 2
    try:
        user_id, stored = asyncio.run(create_admin(Settings(), args.email, password, args.name))
    except Conflict as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    except InvalidEmail as exc:
        print(f"error: not a valid email address: {exc}", file=sys.stderr)
        return 2
    print(f"admin created: {stored} (id {user_id})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
