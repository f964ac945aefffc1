"""Which document classes a name or an expression stands for, read from one module's source: the small type
inference the source checks share (`tests/architecture.py`, `tests/contracts.py`, the raw-call check in
`tests/shared_models/test_store.py`). Pure AST; nothing of the app is imported.

Per function (and for the module body), flow-insensitively: a name holds the documents of everything ever
assigned to it there, so `doc = User(...)` and later `doc = other` still types `doc` as a User (an
over-approximation, which a rule check prefers). A name bound in a function is local to it, as in Python;
one it does not bind is looked up in the enclosing functions, then the module.

What types a name:
- a class: the document's own name, an import of it under any name (`from … import User as U`), an attribute
  naming it (`documents.User`, `users_module.User`), `getattr(<anything>, "User")`, `type(<typed value>)`, a
  module- or function-level alias (`Cls = User`, `Aggregate = User | Token`), a loop over classes;
- a value (a document, or a query or list of them; containers are not told apart): construction
  (`User(...)`, `model(...)`), a read on a class (`find`, `find_one`, `find_many`, `find_all`, `all`, `get`,
  `model_validate`, `model_construct`…, awaited or not), a copy or chained query of a value (`model_copy`,
  `sort`, `limit`, `to_list`…), a parameter's or variable's annotation (a union, `Optional`, a string, a
  type alias, `list[User]`; `type[User]` types a class), a loop or comprehension over values, and the
  return annotation of a function of the same module called by name.

What it cannot see: attributes (`self.model`, `self._aggregates[...]`), values returned by functions of
other modules or by methods, values passed through containers it cannot name (a dict of classes indexed at
runtime), `functools.partial`, a class name assembled at runtime (`getattr(documents, name)`), and anything
`exec`/`eval` builds.
"""

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

STORE_MODULE = "shared_models.store"
# Reads on a document class that answer documents (or a query over them).
CLASS_READS = frozenset(
    {
        "find", "find_one", "find_many", "find_all", "all", "get", "get_many", "model_validate",
        "model_validate_json", "model_validate_strings", "model_construct", "parse_obj", "parse_raw",
        "construct", "get_pymongo_collection", "get_motor_collection", "inspect_collection",
    }
)  # fmt: skip
# Calls on a document or a query that answer the same documents.
CARRIED = frozenset(
    {
        "model_copy", "copy", "sort", "limit", "skip", "find", "find_one", "find_many", "find_all",
        "to_list", "first_or_none", "set_session", "fetch_all_links", "sync", "get_pymongo_collection",
    }
)  # fmt: skip
TYPE_OF_CLASS = frozenset({"type", "Type"})


def python_files(root: Path, packages: Iterable[str]) -> Iterator[tuple[str, ast.Module]]:
    """Every Python module under `root/<package>` (a package's npm folders aside), as (its path relative
    to `root`, its parsed tree), in path order: what each source check reads."""
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            if "node_modules" in path.parts:
                continue
            rel = path.relative_to(root).as_posix()
            yield rel, ast.parse(path.read_text(), filename=rel)


@dataclass
class Scope:
    """What one function (or the module) binds: every name it assigns, and of those, which hold document
    classes, documents, the store module or one of the store's functions."""

    parent: "Scope | None"
    bound: set[str] = field(default_factory=set)
    classes: dict[str, set[str]] = field(default_factory=dict)
    values: dict[str, set[str]] = field(default_factory=dict)
    store_functions: dict[str, str] = field(default_factory=dict)  # local name → the store's name for it
    store_modules: set[str] = field(default_factory=set)
    returns: dict[str, set[str]] = field(default_factory=dict)  # function name → documents it returns

    def owner(self, name: str) -> "Scope | None":
        scope: Scope | None = self
        while scope is not None:
            if name in scope.bound:
                return scope
            scope = scope.parent
        return None


def _own_nodes(body: list[ast.stmt]) -> Iterator[ast.AST]:
    """The nodes of a body, without those of the functions and classes defined in it (their own scopes)."""
    stack: list[ast.AST] = list(reversed(body))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        stack.extend(reversed(list(ast.iter_child_nodes(node))))


def target_names(target: ast.expr) -> Iterator[str]:
    """The names an assignment target binds (`a`, `a, b`, `a, *rest`)."""
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            yield from target_names(element)
    elif isinstance(target, ast.Starred):
        yield from target_names(target.value)


def _base_name(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


def constant_string(node: ast.expr) -> str | None:
    """A string the source spells out, also in pieces (`"get_" + "pymongo_collection"`, an f-string of
    constants)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = constant_string(node.left), constant_string(node.right)
        return left + right if left is not None and right is not None else None
    if isinstance(node, ast.JoinedStr):
        parts = [constant_string(v) if isinstance(v, ast.Constant) else None for v in node.values]
        return "".join(p for p in parts if p is not None) if all(p is not None for p in parts) else None
    return None


class DocumentTypes:
    """The scopes of one module and the questions the checks ask of its expressions."""

    def __init__(self, tree: ast.Module, documents: frozenset[str] | set[str]) -> None:
        self.documents = frozenset(documents)
        self.module = Scope(None)
        self.scope_of: dict[int, Scope] = {}  # id(node) → the scope its expressions are read in
        self.nodes = list(ast.walk(tree))  # walked once: the checks ask of every node
        self._functions = [n for n in self.nodes if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        self._imports(tree)
        self._build(tree.body, self.module, ())

    # --- building the scopes ---------------------------------------------------------------------------

    def _imports(self, tree: ast.Module) -> None:
        """Imports anywhere in the module bind in the module's scope (a function-level import too)."""
        for node in self.nodes:
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                for alias in node.names:
                    local = alias.asname or alias.name
                    if alias.name in self.documents:
                        self.module.classes.setdefault(local, set()).add(alias.name)
                    if node.module == STORE_MODULE:
                        self.module.store_functions[local] = alias.name
                    if node.module == "shared_models" and alias.name == "store":
                        self.module.store_modules.add(local)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == STORE_MODULE and alias.asname:
                        self.module.store_modules.add(alias.asname)

    def _build(self, body: list[ast.stmt], scope: Scope, args: tuple[ast.arg, ...]) -> None:
        nodes = list(_own_nodes(body))
        for node in nodes:
            self.scope_of[id(node)] = scope
        for arg in args:
            scope.bound.add(arg.arg)
        for node in nodes:
            if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign | ast.NamedExpr):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    scope.bound.update(target_names(target))
            elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
                scope.bound.update(target_names(node.target))
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                scope.bound.add(node.name)
            elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                scope.bound.update(target_names(node.optional_vars))
        for _ in range(8):  # to a fixpoint: `a = User.get(x)`, `b = a.model_copy()`, `c = b` …
            if not self._bind(nodes, scope, args):
                break
        if scope is self.module:  # the module's functions by the documents they return, before their bodies
            for function in self._functions:
                if function.returns is not None:
                    found, _ = self.annotation(function.returns, self.module)
                    self.module.returns.setdefault(function.name, set()).update(found)
        for node in nodes:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                arguments = node.args
                own = (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)
                extra = tuple(a for a in (arguments.vararg, arguments.kwarg) if a is not None)
                child = Scope(scope)
                if isinstance(node, ast.Lambda):
                    self._build([ast.Expr(node.body)], child, own + extra)
                else:
                    self._build(node.body, child, own + extra)
            elif isinstance(node, ast.ClassDef):
                self._build(node.body, Scope(scope), ())

    def _bind(self, nodes: list[ast.AST], scope: Scope, args: tuple[ast.arg, ...]) -> bool:
        grew = False

        def add(table: dict[str, set[str]], name: str, found: set[str]) -> None:
            nonlocal grew
            if found - table.get(name, set()):
                table.setdefault(name, set()).update(found)
                grew = True

        for arg in args:
            if arg.annotation is not None:
                values, classes = self.annotation(arg.annotation, scope)
                add(scope.values, arg.arg, values)
                add(scope.classes, arg.arg, classes)
        for node in nodes:
            pairs: list[tuple[ast.expr, ast.expr]] = []
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Tuple | ast.List) and isinstance(
                        node.value, ast.Tuple | ast.List
                    ):
                        pairs += list(zip(target.elts, node.value.elts, strict=False))
                    else:
                        pairs.append((target, node.value))
            elif isinstance(node, ast.AnnAssign):
                values, classes = self.annotation(node.annotation, scope)
                for name in target_names(node.target):
                    add(scope.values, name, values)
                    add(scope.classes, name, classes)
                if node.value is not None:
                    pairs.append((node.target, node.value))
            elif isinstance(node, ast.NamedExpr):
                pairs.append((node.target, node.value))
            elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
                pairs.append((node.target, node.iter))  # containers are not told apart from their items
            for target, value in pairs:
                values, classes = self.values_of(value, scope), self.classes_of(value, scope)
                store_function = self.store_function(value, scope)
                for name in target_names(target):
                    add(scope.values, name, values)
                    add(scope.classes, name, classes)
                    if store_function is not None and name not in scope.store_functions:
                        scope.store_functions[name] = store_function
                        grew = True
        return grew

    # --- questions ---------------------------------------------------------------------------------------

    def scope(self, node: ast.AST) -> Scope:
        return self.scope_of.get(id(node), self.module)

    def _lookup(self, table: str, name: str, scope: Scope) -> set[str]:
        owner = scope.owner(name) or self.module
        found: set[str] = getattr(owner, table).get(name, set())
        return found

    def classes_of(self, node: ast.expr, scope: Scope) -> set[str]:
        """The document classes `node` may evaluate to."""
        if isinstance(node, ast.Name):
            found = set(self._lookup("classes", node.id, scope))
            if node.id in self.documents:
                found.add(node.id)
            return found
        if isinstance(node, ast.Attribute):
            return {node.attr} if node.attr in self.documents else set()
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "getattr" and len(node.args) >= 2:
                name = constant_string(node.args[1])
                return {name} if name in self.documents else set()
            if node.func.id == "type" and len(node.args) == 1:
                return self.values_of(node.args[0], scope)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return self.classes_of(node.left, scope) | self.classes_of(node.right, scope)
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            return {c for element in node.elts for c in self.classes_of(element, scope)}
        if isinstance(node, ast.Subscript):  # a container of classes, `Union[A, B]`, `Optional[A]`
            found = self.classes_of(node.value, scope)
            if _base_name(node.value) in ("Union", "Optional", "Annotated"):
                found |= self.classes_of(node.slice, scope)
            return found
        if isinstance(node, ast.Starred):
            return self.classes_of(node.value, scope)
        if isinstance(node, ast.IfExp):
            return self.classes_of(node.body, scope) | self.classes_of(node.orelse, scope)
        if isinstance(node, ast.BoolOp):
            return {c for value in node.values for c in self.classes_of(value, scope)}
        if isinstance(node, ast.NamedExpr):
            return self.classes_of(node.value, scope)
        return set()

    def values_of(self, node: ast.expr, scope: Scope) -> set[str]:
        """The documents `node` may evaluate to: a document, a query over them, a list of them."""
        if isinstance(node, ast.Await | ast.Starred | ast.NamedExpr | ast.Subscript):
            return self.values_of(node.value, scope)
        if isinstance(node, ast.Name):
            return set(self._lookup("values", node.id, scope))
        if isinstance(node, ast.Call):
            found = set(self.classes_of(node.func, scope))  # construction: User(...), model(...)
            func = node.func
            if isinstance(func, ast.Attribute):
                if func.attr in CLASS_READS:
                    found |= self.classes_of(func.value, scope)
                if func.attr in CARRIED:
                    found |= self.values_of(func.value, scope)
                if func.attr in ("copy", "deepcopy") and node.args:  # copy.copy(doc)
                    found |= self.values_of(node.args[0], scope)
            elif isinstance(func, ast.Name):
                found |= self.module.returns.get(func.id, set())  # a function of this module, by name
                if func.id in ("copy", "deepcopy") and node.args:
                    found |= self.values_of(node.args[0], scope)
            return found
        if isinstance(node, ast.IfExp):
            return self.values_of(node.body, scope) | self.values_of(node.orelse, scope)
        if isinstance(node, ast.BoolOp):
            return {v for value in node.values for v in self.values_of(value, scope)}
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            return {v for element in node.elts for v in self.values_of(element, scope)}
        if isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp):
            return self.values_of(node.elt, self.scope(node))
        if isinstance(node, ast.DictComp):
            return self.values_of(node.value, self.scope(node))
        return set()

    def annotation(self, node: ast.expr, scope: Scope) -> tuple[set[str], set[str]]:
        """(documents, document classes) an annotation names: `User`, `User | None`, `Optional[User]`,
        `"User"`, `list[User]`, an alias of a union of documents; `type[User]` names the class."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                parsed = ast.parse(node.value, mode="eval").body
            except SyntaxError:
                return set(), set()
            return self.annotation(parsed, scope)
        if isinstance(node, ast.Subscript):
            values, classes = self.annotation(node.slice, scope)
            return (set(), values | classes) if _base_name(node.value) in TYPE_OF_CLASS else (values, classes)
        if isinstance(node, ast.Tuple | ast.BinOp):
            parts = node.elts if isinstance(node, ast.Tuple) else [node.left, node.right]
            values, classes = set(), set()
            for part in parts:
                found_values, found_classes = self.annotation(part, scope)
                values |= found_values
                classes |= found_classes
            return values, classes
        if isinstance(node, ast.Name | ast.Attribute):
            return self.classes_of(node, scope), set()
        return set(), set()

    def store_function(self, node: ast.expr, scope: Scope) -> str | None:
        """The store's name of the function `node` names: `store.update_one`, an imported alias of it, or a
        name assigned one."""
        if isinstance(node, ast.Name):
            owner = scope.owner(node.id) or self.module
            return owner.store_functions.get(node.id) or self.module.store_functions.get(node.id)
        if isinstance(node, ast.Attribute) and self.is_store_module(node.value, scope):
            return node.attr
        return None

    def is_store_module(self, node: ast.expr, scope: Scope) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.module.store_modules or node.id in scope.store_modules
        return ast.unparse(node) == STORE_MODULE
