"""The single-writer contract of subscription state, checked on the source (like an import-linter contract).

Only the webhook package `platform_api/billing/webhook/` may write `ProviderSubscription`. Only it and the read-only module
`platform_api/entitlements/subscriptions.py` may name the document at all (besides its definition and the
registry); the read-only module may call no write method; and no module may reach the collection by name.
"""

import ast
import re
from pathlib import Path

DOCUMENT = "ProviderSubscription"
COLLECTION = "provider_subscriptions"
WRITER = "platform_api/billing/webhook/"  # the package: its modules, nothing else
READER = "platform_api/entitlements/subscriptions.py"
DEFINITIONS = frozenset(
    {
        "shared_models/documents/billing.py",
        "shared_models/documents/__init__.py",
        "shared_models/runtime/registry.py",
    }
)
PACKAGES = ("platform_api", "chat_server", "shared_models", "scripts", "bench")
# Beanie's and PyMongo's writing calls (and the raw collection, which would allow any of them).
WRITE_CALLS = frozenset(
    {
        "insert", "insert_one", "insert_many", "save", "save_changes", "replace", "replace_one",
        "replace_many", "update", "update_one", "update_many", "upsert", "set", "unset", "inc",
        "current_date", "push", "pull", "add_to_set", "rename", "max", "min", "mul", "delete",
        "delete_one", "delete_many", "delete_all", "find_one_and_update", "find_one_and_replace",
        "find_one_and_delete", "bulk_write", "get_pymongo_collection", "get_motor_collection", "sync",
        "drop", "drop_collection",
    }
)  # fmt: skip


def _names_document(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if (
            (isinstance(node, ast.ImportFrom) and any(alias.name == DOCUMENT for alias in node.names))
            or (isinstance(node, ast.Attribute) and node.attr == DOCUMENT)
            or (isinstance(node, ast.Constant) and node.value == DOCUMENT)
        ):
            lines.append(node.lineno)
    return lines


def violations(root: Path, packages: tuple[str, ...] = PACKAGES) -> list[str]:
    found: list[str] = []
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            if rel.startswith(WRITER):
                continue
            tree = ast.parse(path.read_text(), filename=rel)
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and node.value == COLLECTION and rel not in DEFINITIONS:
                    found.append(f"{rel}:{node.lineno}: reaches the {COLLECTION} collection by name")
            if rel in DEFINITIONS:
                continue
            named = _names_document(tree)
            if named and rel != READER:
                found.append(f"{rel}:{named[0]}: uses {DOCUMENT}; read it through {READER}")
            if rel == READER:
                for node in ast.walk(tree):
                    if (
                        isinstance(node, ast.Call)
                        and isinstance(node.func, ast.Attribute)
                        and node.func.attr in WRITE_CALLS
                    ):
                        found.append(f"{rel}:{node.lineno}: the read-only module calls .{node.func.attr}()")
    return found


CREATOR = "shared_models/services/notifications.py"
NOTIFY_CALLERS = ("chat_server/events/messages.py", "platform_api/notifications/relay.py")


def notification_creators(root: Path, packages: tuple[str, ...] = PACKAGES) -> list[str]:
    """Modules other than the one creation path that build a Notification, insert one, or touch claims."""
    found: list[str] = []
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            if rel == CREATOR or rel in DEFINITIONS or rel.startswith("shared_models/documents/"):
                continue
            for node in ast.walk(ast.parse(path.read_text(), filename=rel)):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id == "Notification"
                ):
                    found.append(f"{rel}:{node.lineno}: builds a Notification outside {CREATOR}")
                elif (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("insert", "insert_one", "insert_many")
                    and re.search(r"\bNotification\b", ast.unparse(node.func.value))
                ):
                    found.append(f"{rel}:{node.lineno}: inserts notifications outside {CREATOR}")
                elif isinstance(node, ast.Name) and node.id == "NotificationClaim":
                    found.append(f"{rel}:{node.lineno}: touches notification claims outside {CREATOR}")
    return found


def calls_notify(root: Path, rel: str) -> bool:
    tree = ast.parse((root / rel).read_text())
    entries = {"notify", "notify_many"}  # one creation path: one source, or a burst of them
    imported = any(
        isinstance(n, ast.ImportFrom)
        and n.module == "shared_models.services.notifications"
        and any(a.name in entries for a in n.names)
        for n in ast.walk(tree)
    )
    called = any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in entries
        for n in ast.walk(tree)
    )
    return imported and called
