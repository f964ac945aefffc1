"""The layout's rules, read from the source (like import-linter contracts): which package may import which,
what the models package may import, and which domain writes which document.

Units of the import graph: each second-level package or module of `platform_api`, `chat_server` and
`shared_models` (`platform_api.bookings`, `platform_api.deps`, `shared_models.services`, …). Imports under
`if TYPE_CHECKING:` are not edges (they never run). A cycle between units fails.

Ownership: every document model has one owning domain (`OWNERS`). A module of another domain that
constructs the document, calls a write method (Beanie's or PyMongo's) on an expression naming it, or passes
it to a writing function of the store, writes it outside its owner. What this cannot see: a write on a
variable whose type only the runtime knows (`doc.save()`); the CAS helpers take the document class or are
called with a model instance built from a read, so the construction or the class is named where the write
is.
"""

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOPS = ("platform_api", "chat_server", "shared_models")
SCANNED = (*TOPS, "scripts")

# The models package imports no web framework: it is shared by a FastAPI service and a Socket.IO one, and
# holds data and the behaviour both run, never a web layer.
WEB_FRAMEWORKS = frozenset(
    {"fastapi", "starlette", "socketio", "engineio", "uvicorn", "aiohttp", "flask", "django", "jinja2"}
)

# Document → the domain that owns its writes (`domain_of` names a module's domain).
OWNERS: dict[str, str] = {
    "User": "auth",
    "RevokedSession": "auth",
    "AccountToken": "auth",
    "AuditEntry": "audit",
    "BillingCustomer": "billing",
    "ProcessedStripeEvent": "billing",
    "WebhookDelivery": "billing",
    "ProviderSubscription": "billing",
    "ConsentRecord": "consent",
    "Conversation": "conversations",
    "Message": "conversations",
    "Dispute": "disputes",
    "DisputeEvidence": "disputes",
    "EmailMessage": "notifications",
    "EmailWindow": "notifications",
    "Notification": "notifications",
    "NotificationClaim": "notifications",
    "NotificationDelivery": "notifications",
    "NotificationPreferences": "notifications",
    "GeocodeCache": "search",
    "SearchEvent": "search",
    "SearchImpression": "search",
    "IdempotentRequest": "idempotency",
    "JobLease": "store",
    "MediaGrant": "media",
    "MediaObject": "media",
    "OutboxEvent": "outbox",
    "ProviderCoverage": "providers",
    "ProviderProfile": "providers",
    "Review": "reviews",
    "ServiceRequest": "bookings",
}
# The shared half of a domain: `shared_models/services/<module>.py` → its domain.
SHARED_DOMAINS = {
    "conversations": "conversations",
    "notifications": "notifications",
    "sessions": "auth",
    "session_cache": "auth",
    "media": "media",
    "outbox": "outbox",
}
# Modules that may write any document, and why.
ANY_WRITER: dict[str, str] = {
    "scripts/migrate.py": "schema migrations rewrite stored documents of every domain, once, offline",
}
WRITE_METHODS = frozenset(
    {
        "insert", "insert_one", "insert_many", "save", "save_changes", "replace", "replace_one",
        "replace_many", "update", "update_one", "update_many", "upsert", "set", "unset", "inc", "delete",
        "delete_one", "delete_many", "delete_all", "find_one_and_update", "find_one_and_replace",
        "find_one_and_delete", "bulk_write", "get_pymongo_collection", "get_motor_collection",
    }
)  # fmt: skip
STORE_WRITES = frozenset(
    {
        "replace_if", "replace_one_if", "update_if", "update_one", "update_many", "update_each",
        "insert_new", "insert_all", "claim_window", "delete_one", "acquire_lease",
    }
)  # fmt: skip


def _python_files(root: Path, packages: tuple[str, ...]) -> Iterator[tuple[str, ast.Module]]:
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            if "node_modules" in path.parts:
                continue
            rel = path.relative_to(root).as_posix()
            yield rel, ast.parse(path.read_text(), filename=rel)


def _module_name(rel: str) -> str:
    parts = rel.removesuffix(".py").split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _unit(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] not in TOPS or len(parts) < 2:
        return None
    return ".".join(parts[:2])


def _runtime_nodes(tree: ast.Module) -> Iterator[ast.AST]:
    """Every node but those under `if TYPE_CHECKING:`."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(inner) for body in node.body for inner in ast.walk(body))
    for node in ast.walk(tree):
        if id(node) not in skipped:
            yield node


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        return [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
    return []


def import_graph(root: Path = ROOT, packages: tuple[str, ...] = TOPS) -> dict[str, dict[str, str]]:
    """unit → {imported unit: where (file:line)}."""
    graph: dict[str, dict[str, str]] = defaultdict(dict)
    for rel, tree in _python_files(root, packages):
        source = _unit(_module_name(rel))
        if source is None:
            continue
        for node in _runtime_nodes(tree):
            for name in _imported(node):
                target = _unit(name)
                if target is not None and target != source:
                    graph[source].setdefault(target, f"{rel}:{getattr(node, 'lineno', 0)}")
    return graph


def cycles(graph: dict[str, dict[str, str]]) -> list[list[str]]:
    """The strongly connected components of more than one unit (Tarjan), each with the edges inside it."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(unit: str) -> None:
        index[unit] = low[unit] = len(index)
        stack.append(unit)
        on_stack.add(unit)
        for target in graph.get(unit, {}):
            if target not in index:
                visit(target)
                low[unit] = min(low[unit], low[target])
            elif target in on_stack:
                low[unit] = min(low[unit], index[target])
        if low[unit] == index[unit]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == unit:
                    break
            if len(component) > 1:
                found.append(
                    sorted(
                        f"{a} -> {b} ({graph[a][b]})"
                        for a in component
                        for b in graph.get(a, {})
                        if b in component
                    )
                )

    for unit in list(graph):
        if unit not in index:
            visit(unit)
    return found


def web_imports(root: Path = ROOT, package: str = "shared_models") -> list[str]:
    """Imports of a web framework anywhere in the package (type-checking imports included)."""
    found = []
    for rel, tree in _python_files(root, (package,)):
        for node in ast.walk(tree):
            for name in _imported(node)[:1] if isinstance(node, ast.ImportFrom) else _imported(node):
                if name.split(".")[0] in WEB_FRAMEWORKS:
                    found.append(f"{rel}:{getattr(node, 'lineno', 0)}: imports {name}")
    return found


def domain_of(rel: str) -> str:
    """The domain a module belongs to: `platform_api/<domain>/…`, a top-level `platform_api/<module>.py`,
    the shared half `shared_models/services/<module>.py`, the store, the chat server, or a script."""
    parts = rel.removesuffix(".py").split("/")
    if parts[0] == "platform_api" and len(parts) >= 2:
        return parts[1]
    if parts[:2] == ["shared_models", "services"] and len(parts) == 3:
        return SHARED_DOMAINS.get(parts[2], parts[2])
    if parts[0] == "shared_models":
        return parts[1] if len(parts) >= 2 else "shared_models"
    return parts[0]


def _named(node: ast.AST) -> set[str]:
    """Document names an expression mentions (`Review`, `documents.Review`)."""
    names = set()
    for inner in ast.walk(node):
        if isinstance(inner, ast.Name) and inner.id in OWNERS:
            names.add(inner.id)
        elif isinstance(inner, ast.Attribute) and inner.attr in OWNERS:
            names.add(inner.attr)
    return names


def foreign_writes(root: Path = ROOT, packages: tuple[str, ...] = SCANNED) -> list[str]:
    """Writes of a document outside its owning domain (see the module's docstring for what counts)."""
    found = []
    for rel, tree in _python_files(root, packages):
        if rel.startswith("shared_models/documents/") or rel in ANY_WRITER:
            continue
        domain = domain_of(rel)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            written: set[str] = set()
            func = node.func
            if isinstance(func, ast.Name | ast.Attribute):
                called = func.id if isinstance(func, ast.Name) else func.attr
                if called in OWNERS:
                    written.add(called)  # a new document: built to be inserted
            if isinstance(func, ast.Attribute) and func.attr in WRITE_METHODS:
                written |= _named(func.value)
            if isinstance(func, ast.Name | ast.Attribute):
                called = func.id if isinstance(func, ast.Name) else func.attr
                if called in STORE_WRITES:
                    written |= {n for arg in node.args for n in _named(arg)}
            for document in sorted(written):
                if OWNERS[document] != domain:
                    found.append(
                        f"{rel}:{node.lineno}: writes {document} (owned by {OWNERS[document]}) from {domain}"
                    )
    return found
