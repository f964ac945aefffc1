"""The single-writer contract of subscription state, checked on the source (like an import-linter contract).

Only the webhook package `platform_api/billing/webhook/` may write `ProviderSubscription`. Only it and the read-only module
`platform_api/entitlements/subscriptions.py` may name the document at all (besides its definition and the
registry); the read-only module may call no write method — Beanie's, PyMongo's or the store's, under any
name —; and no module may reach the collection by name.

Notifications have one creation path (`CREATOR`): no other module builds, inserts or stores a Notification or
touches a NotificationClaim, under whatever name it imports or assigns them (`tests/document_types.py`).
"""

import ast
import re
from pathlib import Path

from tests.document_types import DocumentTypes, python_files

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
        "drop", "drop_collection", "create", "update_all",
    }
)  # fmt: skip
# The store's writing operations (shared_models/store.py), called as `store.x(...)` or under any name.
STORE_WRITE_CALLS = frozenset(
    {
        "replace_if", "replace_one_if", "update_if", "update_one", "update_many", "update_each",
        "insert_new", "insert_all", "claim_window", "delete_one", "acquire_lease", "clear_pending_events",
    }
)  # fmt: skip
WRITE_CALLS = WRITE_CALLS | STORE_WRITE_CALLS
# What can create a document: Beanie's inserts (`save` and `upsert` insert what is not there yet) and the
# store's inserts and upsert.
INSERTS = frozenset({"insert", "insert_one", "insert_many", "create", "save", "upsert"})
STORE_INSERTS = frozenset({"insert_new", "insert_all", "claim_window"})


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
    for rel, tree in python_files(root, packages):
        if rel.startswith(WRITER):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value == COLLECTION and rel not in DEFINITIONS:
                found.append(f"{rel}:{node.lineno}: reaches the {COLLECTION} collection by name")
        if rel in DEFINITIONS:
            continue
        named = _names_document(tree)
        if named and rel != READER:
            found.append(f"{rel}:{named[0]}: uses {DOCUMENT}; read it through {READER}")
        if rel == READER:
            found += _reader_writes(rel, tree)
    return found


def _reader_writes(rel: str, tree: ast.Module) -> list[str]:
    """Write calls in the read-only module: a write method on anything, or a writing function of the store
    under any name (`store.replace_if`, `from shared_models.store import replace_if as put`)."""
    types = DocumentTypes(tree, frozenset({DOCUMENT}))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        store_name = types.store_function(func, types.scope(node))
        if isinstance(func, ast.Attribute) and (func.attr in WRITE_CALLS or store_name in STORE_WRITE_CALLS):
            found.append(f"{rel}:{node.lineno}: the read-only module calls .{func.attr}()")
        elif isinstance(func, ast.Name) and (func.id in WRITE_CALLS or store_name in STORE_WRITE_CALLS):
            also = f" (store.{store_name})" if store_name is not None and store_name != func.id else ""
            found.append(f"{rel}:{node.lineno}: the read-only module calls {func.id}(){also}")
    return found


CREATOR = "shared_models/services/notifications.py"
NOTIFY_CALLERS = ("chat_server/events/messages.py", "platform_api/notifications/relay.py")


def notification_creators(root: Path, packages: tuple[str, ...] = PACKAGES) -> list[str]:
    """Modules other than the one creation path that build a Notification, insert one, or touch claims —
    also under another name (`Notification as N`, `Made = Notification`, `documents.Notification`) and
    through the store (`store.insert_new(N, rows)`)."""
    found: list[str] = []
    for rel, tree in python_files(root, packages):
        if rel == CREATOR or rel in DEFINITIONS or rel.startswith("shared_models/documents/"):
            continue
        found += _notification_writes(rel, tree)
    return found


def _notification_writes(rel: str, tree: ast.Module) -> list[str]:
    types = DocumentTypes(tree, frozenset({"Notification", "NotificationClaim"}))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and any(a.name == "NotificationClaim" for a in node.names):
            found.append(f"{rel}:{node.lineno}: touches notification claims outside {CREATOR}")
        if isinstance(node, ast.Name | ast.Attribute) and "NotificationClaim" in types.classes_of(
            node, types.scope(node)
        ):
            found.append(f"{rel}:{node.lineno}: touches notification claims outside {CREATOR}")
        if not isinstance(node, ast.Call):
            continue
        scope, func = types.scope(node), node.func
        if "Notification" in types.classes_of(func, scope):
            found.append(f"{rel}:{node.lineno}: builds a Notification outside {CREATOR}")
        elif isinstance(func, ast.Attribute) and func.attr in INSERTS:
            receiver = func.value
            if re.search(r"\bNotification\b", ast.unparse(receiver)) or "Notification" in types.classes_of(
                receiver, scope
            ) | types.values_of(receiver, scope):
                found.append(f"{rel}:{node.lineno}: inserts notifications outside {CREATOR}")
        elif types.store_function(func, scope) in STORE_INSERTS and any(
            "Notification" in types.classes_of(arg, scope) | types.values_of(arg, scope)
            for arg in [*node.args, *(k.value for k in node.keywords)]
        ):
            found.append(f"{rel}:{node.lineno}: inserts notifications through the store outside {CREATOR}")
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
