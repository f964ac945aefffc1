"""The layout's rules, read from the source (like import-linter contracts): which package may import which,
what the models package may import, and which domain writes which document. Pure AST: nothing of the app is
imported (the one test that imports the models package does so in a subprocess, `test_architecture.py`).

Units of the import graph: each second-level package or module of `platform_api`, `chat_server` and
`shared_models` (`platform_api.bookings`, `platform_api.deps`, `shared_models.services`, …), and each
top-level package's own `__init__.py` (`platform_api`). Edges: `import`, `from … import` (relative ones
resolved against the importing module's package), and `importlib.import_module("…")` / `__import__("…")` of
a constant string, wherever they are (a function-level import runs too). Only the body of an
`if TYPE_CHECKING:` / `if typing.TYPE_CHECKING:` is skipped (it never runs); not its `else:`, nor a
condition that merely mentions it. A cycle between units fails. The models package imports no web
framework and neither service (type-checking imports included).

Ownership: every document model has one owning domain (`OWNERS`). A module of another domain writes it when
it constructs the document, calls a write method on an expression that names or holds it, or passes it (its
class or a value of it, positionally or by keyword) to a writing function of the store. Names are typed by
`tests/document_types.py`, per function: import and module aliases (`User as U`, `Cls = User`,
`Aggregate = A | B`), `getattr(documents, "User")`, `type(doc)`, reads (`doc = await User.get(…)`,
`User.model_validate(…)`, a query kept in a variable), copies (`after = doc.model_copy(…)`), parameter and
variable annotations (unions, `Optional`, strings, aliases, `list[User]`), loops, and the return annotation
of a function of the same module; store functions under another name (`from shared_models.store import
update_one as upd`, `upd = store.update_one`).

What this still cannot see: a document reached through an attribute (`self.model`, `self._aggregates[...]`)
or a callable kept in a data structure, values returned by another module's functions or by methods (an
unannotated `user = await auth_service.get(...)` then `user.save()`), `functools.partial` of a store
function, a class name built at runtime (`getattr(documents, name)`), a write done in another module on the
caller's behalf (that module is checked instead, against its own domain), and `exec`/`eval`.
"""

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from tests.document_types import DocumentTypes, constant_string, python_files

ROOT = Path(__file__).resolve().parent.parent
TOPS = ("platform_api", "chat_server", "shared_models")
SCANNED = (*TOPS, "scripts")

# The models package imports no web framework: it is shared by a FastAPI service and a Socket.IO one, and
# holds data and the behaviour both run, never a web layer.
WEB_FRAMEWORKS = frozenset(
    {"fastapi", "starlette", "socketio", "engineio", "uvicorn", "aiohttp", "flask", "django", "jinja2"}
)
# Nor either service: they build on it.
SERVICES = frozenset({"platform_api", "chat_server"})

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
    "ConnectedAccount": "payments",
    "BookingPayment": "payments",
    "PaymentInstruction": "payments",
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
        "current_date", "create", "update_all",
    }
)  # fmt: skip
STORE_WRITES = frozenset(
    {
        "replace_if", "replace_one_if", "update_if", "update_one", "update_many", "update_each",
        "insert_new", "insert_all", "claim_window", "delete_one", "acquire_lease", "clear_pending_events",
    }
)  # fmt: skip


def _module_name(rel: str) -> str:
    parts = rel.removesuffix(".py").split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _unit(module: str) -> str | None:
    """A module's unit: its second-level package or module, or the top-level package's `__init__.py`."""
    parts = module.split(".")
    if parts[0] not in TOPS:
        return None
    return ".".join(parts[:2])


def _is_type_checking(test: ast.expr) -> bool:
    """`TYPE_CHECKING` or `typing.TYPE_CHECKING` alone: not `not TYPE_CHECKING`, not `TYPE_CHECKING or x`."""
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return (
        isinstance(test, ast.Attribute)
        and test.attr == "TYPE_CHECKING"
        and isinstance(test.value, ast.Name)
        and test.value.id in ("typing", "typing_extensions")
    )


def _runtime_nodes(tree: ast.Module) -> Iterator[ast.AST]:
    """Every node but those in the body of an `if TYPE_CHECKING:` (its `else:` runs)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            skipped.update(id(inner) for body in node.body for inner in ast.walk(body))
    for node in ast.walk(tree):
        if id(node) not in skipped:
            yield node


def _package_of(rel: str) -> str:
    """The package a module's relative imports start from (`from . import x`)."""
    module = _module_name(rel)
    return module if rel.endswith("/__init__.py") else module.rpartition(".")[0]


def _absolute(package: str, level: int, name: str | None) -> str | None:
    """`from ..b import x` in package `platform_api.a` → `platform_api.b`; None above the top."""
    parts = package.split(".") if package else []
    if level - 1 > len(parts) or (level - 1 == len(parts) and not name):
        return None
    base = parts[: len(parts) - (level - 1)]
    return ".".join([*base, name] if name else base) or None


def _dynamic_import(node: ast.Call, package: str) -> str | None:
    """The module a constant-string `importlib.import_module(…)` / `__import__(…)` loads."""
    func = node.func
    called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    if called not in ("import_module", "__import__") or not node.args:
        return None
    name = constant_string(node.args[0])
    if name is None:
        return None
    if called == "import_module" and name.startswith("."):
        anchor = next((k.value for k in node.keywords if k.arg == "package"), None)
        anchor = anchor if anchor is not None else (node.args[1] if len(node.args) > 1 else None)
        base = constant_string(anchor) if anchor is not None else None
        if base is None:
            return None
        level = len(name) - len(name.lstrip("."))
        return _absolute(base, level, name.lstrip(".") or None)
    return name


def _imported(node: ast.AST, rel: str) -> list[str]:
    """The modules an import statement or a constant-string dynamic import names (with `from m import x`,
    both `m` and `m.x`: `x` may be a submodule)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        module = node.module if node.level == 0 else _absolute(_package_of(rel), node.level, node.module)
        if module is None:
            return []
        return [module, *(f"{module}.{alias.name}" for alias in node.names)]
    if isinstance(node, ast.Call):
        found = _dynamic_import(node, _package_of(rel))
        return [found] if found else []
    return []


def _target_unit(name: str, root: Path) -> str | None:
    """The unit an imported name belongs to. A top-level package (`platform_api`) is a unit of its own —
    its `__init__.py` — unless the name goes on to one of its modules or subpackages."""
    parts = name.split(".")
    if parts[0] not in TOPS:
        return None
    if len(parts) == 1:
        return parts[0]
    if (root / parts[0] / parts[1]).is_dir() or (root / parts[0] / f"{parts[1]}.py").is_file():
        return ".".join(parts[:2])
    return parts[0]  # `from platform_api import VERSION`: a name of the package's __init__


def import_graph(root: Path = ROOT, packages: tuple[str, ...] = TOPS) -> dict[str, dict[str, str]]:
    """unit → {imported unit: where (file:line)}."""
    graph: dict[str, dict[str, str]] = defaultdict(dict)
    for rel, tree in python_files(root, packages):
        source = _unit(_module_name(rel))
        if source is None:
            continue
        for node in _runtime_nodes(tree):
            names = _imported(node, rel)
            if isinstance(node, ast.ImportFrom) and names:
                names = names[1:]  # `from m import x`: m.x when it is a module, else a name of m
            for name in names:
                target = _target_unit(name, root)
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


def _imports_of(root: Path, package: str, forbidden: frozenset[str]) -> list[str]:
    found = []
    for rel, tree in python_files(root, (package,)):
        for node in ast.walk(tree):
            names = _imported(node, rel)
            for name in names[:1] if isinstance(node, ast.ImportFrom) else names:
                if name.split(".")[0] in forbidden:
                    found.append(f"{rel}:{getattr(node, 'lineno', 0)}: imports {name}")
    return sorted(set(found), key=lambda line: (line.split(":")[0], int(line.split(":")[1]), line))


def web_imports(root: Path = ROOT, package: str = "shared_models") -> list[str]:
    """Imports of a web framework anywhere in the package (type-checking and constant-string dynamic
    imports included)."""
    return _imports_of(root, package, WEB_FRAMEWORKS)


def service_imports(root: Path = ROOT, package: str = "shared_models") -> list[str]:
    """Imports of either service (`platform_api`, `chat_server`) by the models package, type-checking ones
    and constant-string dynamic ones included: the services build on it, never the other way round."""
    return _imports_of(root, package, SERVICES)


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
    """Document names an expression spells anywhere in it (`Review`, `documents.Review`)."""
    names = set()
    for inner in ast.walk(node):
        if isinstance(inner, ast.Name) and inner.id in OWNERS:
            names.add(inner.id)
        elif isinstance(inner, ast.Attribute) and inner.attr in OWNERS:
            names.add(inner.attr)
    return names


def written_documents(node: ast.Call, types: DocumentTypes) -> set[str]:
    """The documents a call writes: a construction (`User(...)`, `model(...)`, `type(doc)(...)`), a write
    method on an expression that names or holds documents (`User.find(...).delete()`, `doc.save()`,
    `query.delete()`), or a writing function of the store given a document class or value in any
    argument (`store.update_one(model=User, …)`, `upd(User, …)`, `store.replace_if(q, after)`)."""
    scope = types.scope(node)
    func = node.func
    written = set(types.classes_of(func, scope))
    if isinstance(func, ast.Attribute) and func.attr in WRITE_METHODS:
        receiver = func.value
        written |= _named(receiver) | types.classes_of(receiver, scope) | types.values_of(receiver, scope)
    args = [*node.args, *(keyword.value for keyword in node.keywords)]
    if isinstance(func, ast.Name | ast.Attribute) and (
        func.id if isinstance(func, ast.Name) else func.attr
    ) == ("partial"):  # functools.partial(store.update_one, User, …): the write is bound here
        func, args = (
            (node.args[0], [*node.args[1:], *(k.value for k in node.keywords)]) if node.args else (func, [])
        )
    called = types.store_function(func, scope)
    if called is None and isinstance(func, ast.Name | ast.Attribute):
        called = func.id if isinstance(func, ast.Name) else func.attr
    if called in STORE_WRITES:
        for arg in args:
            written |= _named(arg) | types.classes_of(arg, scope) | types.values_of(arg, scope)
    return written


def foreign_writes(root: Path = ROOT, packages: tuple[str, ...] = SCANNED) -> list[str]:
    """Writes of a document outside its owning domain (see the module's docstring for what counts)."""
    found = []
    for rel, tree in python_files(root, packages):
        if rel.startswith("shared_models/documents/") or rel in ANY_WRITER:
            continue
        domain = domain_of(rel)
        types = DocumentTypes(tree, frozenset(OWNERS))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            for document in sorted(written_documents(node, types)):
                if OWNERS[document] != domain:
                    found.append(
                        f"{rel}:{node.lineno}: writes {document} (owned by {OWNERS[document]}) from {domain}"
                    )
    return found


def writers_of(document: str, root: Path = ROOT, packages: tuple[str, ...] = SCANNED) -> dict[str, list[int]]:
    """Every module that writes `document` (by the same rules as `foreign_writes`), with the lines: for a
    single-writer contract inside a domain (e.g. only the webhook reducer writes a payment's state)."""
    found: dict[str, list[int]] = defaultdict(list)
    for rel, tree in python_files(root, packages):
        if rel.startswith("shared_models/documents/"):
            continue
        types = DocumentTypes(tree, frozenset(OWNERS))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and document in written_documents(node, types):
                found[rel].append(node.lineno)
    return dict(found)
