"""What the error-code contract reads from the source: the failures each route can reach, the old ways of
naming a failure (a `code="…"` string, a bare status class), codes written by hand into an ack or an error
body, and the classes that share a code or answer another status than the status class they subclass.

Reachability is computed on the source (AST) with names resolved through the running modules: from a route's
endpoint and every dependency it has, each call is followed into the function it names — a module's own
function, an imported one, `module.function`, `service_instance.method`, `self.method`, a method of a
parameter's or local's annotated type — and, when the receiver cannot be resolved (`x.method()` on an
unannotated local), into every method of that name in the packages (an over-approximation). A call of an
error class, anywhere in a reached function (nested functions included: they are defined to be called), is a
failure the route can answer, unless an enclosing `try` catches it (a handler that re-raises catches
nothing). Only functions of the packages are read; library code is not.
"""

import ast
import builtins
import functools
import importlib
import inspect
import pkgutil
import sys
import types
import typing
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from shared_models.errors import STATUS_CLASSES, AppError
from tests.document_types import python_files

PACKAGES = ("platform_api", "shared_models")
ROOT = Path(__file__).resolve().parents[1]
STATUS_NAMES = frozenset(c.__name__ for c in STATUS_CLASSES)
# An unresolved `x.update(...)` is far more often a dict's than a service's: names the built-in containers
# and strings have are not followed by name.
BUILTIN_METHODS = frozenset(
    name
    for kind in (dict, list, set, frozenset, tuple, str, bytes)
    for name in dir(kind)
    if not name.startswith("_")
)


def import_all(packages: Iterable[str] = (*PACKAGES, "chat_server")) -> None:
    for name in packages:
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, f"{name}."):
            importlib.import_module(info.name)


def error_classes() -> list[type[AppError]]:
    """Every subclass of `AppError` imported so far (the status classes too)."""
    found: list[type[AppError]] = []
    todo: list[type[AppError]] = [AppError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted(set(found), key=lambda c: (c.__module__, c.__qualname__))


def relpath(cls_or_fn: Any) -> str:
    try:
        return Path(inspect.getfile(cls_or_fn)).resolve().relative_to(ROOT).as_posix()
    except (TypeError, ValueError):
        return ""


def shared_codes(classes: Iterable[type[AppError]]) -> dict[str, list[str]]:
    """Codes that more than one class answers, beyond the one exception: two classes may share a code only
    when their statuses differ and one names the other as the failure it is a variant of (`variant_of`).

    A class that only refines another's meaning, inheriting its code and its status (`TransitionLost`, a
    `ConcurrentUpdate`), is the same failure and is not counted; one that inherits a code but answers it
    with another status is a failure of its own and is."""
    by_code: dict[str, list[type[AppError]]] = {}
    for cls in classes:
        if cls in STATUS_CLASSES or not _answers_a_code_of_its_own(cls):
            continue
        by_code.setdefault(cls.code, []).append(cls)
    found: dict[str, list[str]] = {}
    for code, sharing in by_code.items():
        if any(not _variants(a, b) for i, a in enumerate(sharing) for b in sharing[i + 1 :]):
            found[code] = [f"{cls.__module__}.{cls.__qualname__}" for cls in sharing]
    return found


def _answers_a_code_of_its_own(cls: type[AppError]) -> bool:
    if "code" in cls.__dict__:
        return True
    origin = next(c for c in cls.__mro__ if "code" in c.__dict__)  # the class whose code it inherits
    return bool(origin.status_code != cls.status_code)


def _variants(a: type[AppError], b: type[AppError]) -> bool:
    named = getattr(a, "variant_of", None) is b or getattr(b, "variant_of", None) is a
    return a.status_code != b.status_code and named


def misgrouped(classes: Iterable[type[AppError]]) -> list[str]:
    """Failures that answer another status than the status class they subclass (an `except NotFound:` would
    catch a 409)."""
    found: list[str] = []
    for cls in classes:
        for group in cls.__mro__[1:]:
            if group in STATUS_CLASSES and group is not AppError and group.status_code != cls.status_code:
                found.append(
                    f"{cls.__module__}.{cls.__qualname__} answers {cls.status_code} but is a {group.__name__}"
                )
    return found


# The functions that build what a client sees of a failure, from its code: the chat server's ack
# (`chat_server.protocol.error`), the platform's JSON body (`platform_api.errors._body`), python-socketio's
# refused connection (its first argument is the code the client's `connect_error` reads).
BODY_BUILDERS = frozenset({"error", "_body", "ConnectionRefusedError"})


def hand_written_codes(root: Path, packages: Iterable[str], allowed: Iterable[str] = ()) -> list[str]:
    """Codes written by hand where a failure's class belongs: a code string passed to a body builder (an ack,
    a JSON body, a refused connection), or an error body written as a literal (`{"code": "…", "message": …}`,
    `{"error": {"code": "…"}}`)."""
    skip = set(allowed)
    found: list[str] = []
    for rel, tree in python_files(root, packages):
        if rel in skip:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _builder(node) and _code_string(node):
                found.append(f"{rel}:{node.lineno}: passes a code string to {_called_name(node)}")
            if isinstance(node, ast.Dict):
                entries = _entries(node)
                details = [node] if "message" in entries else []
                inner = entries.get("error")
                details += [inner] if isinstance(inner, ast.Dict) else []
                if any(_is_str(_entries(detail).get("code")) for detail in details):
                    found.append(f"{rel}:{node.lineno}: writes an error body with a code string")
    return sorted(set(found))


def _builder(call: ast.Call) -> bool:
    """A call of a body builder; `log.error(...)` (a logger's) is not one."""
    if isinstance(call.func, ast.Name):
        return call.func.id in BODY_BUILDERS
    if isinstance(call.func, ast.Attribute) and call.func.attr in BODY_BUILDERS:
        return call.func.attr != "error" or (
            isinstance(call.func.value, ast.Name) and call.func.value.id == "protocol"
        )
    return False


def _code_string(call: ast.Call) -> bool:
    first = call.args[0] if call.args else None
    return _is_str(first) or any(k.arg == "code" and _is_str(k.value) for k in call.keywords)


def _entries(node: ast.Dict) -> dict[str, ast.expr]:
    return {
        k.value: v
        for k, v in zip(node.keys, node.values, strict=True)
        if isinstance(k, ast.Constant) and isinstance(k.value, str)
    }


def _is_str(node: ast.expr | None) -> bool:
    return (isinstance(node, ast.Constant) and isinstance(node.value, str)) or isinstance(node, ast.JoinedStr)


def legacy_raises(root: Path, packages: Iterable[str], allowed: Iterable[str] = ()) -> list[str]:
    """Failures named the old way: a raise with a `code=` string, a status class (`Conflict(...)`) raised
    instead of a failure of its own, a class naming its code in `default_code`."""
    skip = set(allowed)
    found: list[str] = []
    for rel, tree in python_files(root, packages):
        if rel in skip:
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Raise)
                and isinstance(node.exc, ast.Call)
                and any(k.arg == "code" for k in node.exc.keywords)
            ):
                found.append(f"{rel}:{node.lineno}: raises with a code= string")
            if isinstance(node, ast.Call) and _called_name(node) in STATUS_NAMES:
                found.append(f"{rel}:{node.lineno}: makes a {_called_name(node)}, not a failure of its own")
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    targets = item.targets if isinstance(item, ast.Assign) else []
                    if any(isinstance(t, ast.Name) and t.id == "default_code" for t in targets):
                        found.append(f"{rel}:{item.lineno}: {node.name} names its code in default_code")
    return found


def _called_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


@dataclass(frozen=True)
class Failure:
    """A failure a route can answer: the class made, and its code (the class's, or a legacy `code=`)."""

    cls: type[AppError]
    code: str

    @property
    def answer(self) -> tuple[int, str]:
        return self.cls.status_code, self.code


@dataclass
class _Summary:
    made: list[tuple[Failure, tuple[type[BaseException], ...]]] = field(default_factory=list)
    calls: list[tuple[Any, tuple[type[BaseException], ...]]] = field(default_factory=list)


class Reach:
    """The failures functions of `packages` can answer, each computed once (calls may recurse)."""

    def __init__(self, packages: Iterable[str] = PACKAGES) -> None:
        self.packages = tuple(packages)
        self._trees: dict[str, dict[tuple[int, str], ast.AST]] = {}
        self._summaries: dict[Any, _Summary] = {}
        self._functions: dict[Any, Callable[..., Any]] = {}
        self._methods: dict[str, list[Callable[..., Any]]] | None = None

    # -- public ----------------------------------------------------------------------------------------

    def route(self, route: APIRoute) -> set[Failure]:
        return self.of(_route_calls(route))

    def of(self, roots: Iterable[Any]) -> set[Failure]:
        keys = [k for k in (self._key(r) for r in roots) if k is not None]
        self._explore(keys)
        reach: dict[Any, set[Failure]] = {k: set() for k in self._summaries}
        changed = True
        while changed:  # a fixpoint: calls may form cycles
            changed = False
            for key, summary in self._summaries.items():
                found = set(reach[key])
                for failure, caught in summary.made:
                    if not issubclass(failure.cls, caught):
                        found.add(failure)
                for callee, caught in summary.calls:
                    found.update(f for f in reach.get(callee, ()) if not issubclass(f.cls, caught))
                if found != reach[key]:
                    reach[key] = found
                    changed = True
        return set().union(*(reach[k] for k in keys)) if keys else set()

    # -- functions -------------------------------------------------------------------------------------

    def _key(self, obj: Any) -> Any:
        fn = _function_of(obj)
        if fn is None or not self._ours(fn):
            return None
        key = fn.__code__
        self._functions[key] = fn
        return key

    def _ours(self, fn: Callable[..., Any]) -> bool:
        module = getattr(fn, "__module__", "") or ""
        return module.split(".")[0] in self.packages or module.startswith("_snippet")

    def _explore(self, keys: list[Any]) -> None:
        todo = [k for k in keys if k not in self._summaries]
        while todo:
            key = todo.pop()
            if key in self._summaries:
                continue
            summary = self._summaries[key] = self._summarise(self._functions[key])
            todo.extend(callee for callee, _ in summary.calls if callee not in self._summaries)

    def _node(self, fn: Callable[..., Any]) -> ast.AST | None:
        try:
            filename = inspect.getsourcefile(fn)
        except TypeError:
            return None
        if filename is None or not Path(filename).is_file():  # made at run time (dataclasses, pydantic)
            return None
        if filename not in self._trees:
            tree = ast.parse(Path(filename).read_text(), filename=filename)
            index: dict[tuple[int, str], ast.AST] = {}
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                    index[(first, node.name)] = node
            self._trees[filename] = index
        return self._trees[filename].get((fn.__code__.co_firstlineno, fn.__code__.co_name))

    def _summarise(self, fn: Callable[..., Any]) -> _Summary:
        summary = _Summary()
        node = self._node(fn)
        if node is None:
            return summary
        scope = _Scope(fn, node)
        _Walker(self, scope, summary).visit_body(node)
        return summary

    def methods_named(self, name: str) -> list[Callable[..., Any]]:
        if self._methods is None:
            self._methods = {}
            for module_name, module in list(sys.modules.items()):
                if module_name.split(".")[0] not in self.packages or module is None:
                    continue
                for value in list(vars(module).values()):
                    if isinstance(value, type) and value.__module__ == module_name:
                        for attr, member in vars(value).items():
                            fn = _function_of(member)
                            if fn is not None:
                                self._methods.setdefault(attr, []).append(fn)
        return self._methods.get(name, [])


def _function_of(obj: Any) -> Callable[..., Any] | None:
    """The plain function behind a function, method, static/class method or callable instance."""
    if isinstance(obj, staticmethod | classmethod):
        obj = obj.__func__
    if isinstance(obj, types.MethodType):
        obj = obj.__func__
    if isinstance(obj, functools.partial):
        obj = obj.func
    obj = inspect.unwrap(obj) if callable(obj) else obj
    if isinstance(obj, types.FunctionType):
        return obj
    call = inspect.getattr_static(type(obj), "__call__", None) if not isinstance(obj, type) else None
    return call if isinstance(call, types.FunctionType) else None


def _route_calls(route: APIRoute) -> Iterator[Any]:
    yield route.endpoint

    def walk(dependant: Dependant) -> Iterator[Any]:
        for sub in dependant.dependencies:
            if sub.call is not None:
                yield sub.call
            yield from walk(sub)

    yield from walk(route.dependant)


class _Scope:
    """Names as a function sees them: its module's globals, its class, its annotated parameters and locals."""

    def __init__(self, fn: Callable[..., Any], node: ast.AST) -> None:
        self.globals: dict[str, Any] = fn.__globals__  # type: ignore[attr-defined]
        self.owner = self._owner(fn)
        self.locals = {a.arg for a in ast.walk(node) if isinstance(a, ast.arg)} | {
            t.id for t in ast.walk(node) if isinstance(t, ast.Name) and isinstance(t.ctx, ast.Store)
        }
        self.types: dict[str, Any] = {}
        try:
            hints = typing.get_type_hints(fn, include_extras=True)
        except Exception:
            hints = {}
        for name, hint in hints.items():
            self.types[name] = _class_of(hint)
        for sub in ast.walk(node):
            if isinstance(sub, ast.AnnAssign) and isinstance(sub.target, ast.Name):
                self.types[sub.target.id] = self._annotated(sub.annotation)
        # What a local is assigned (`plan = service.a if whole else service.b`): a call of it is a call of those.
        self.assigned: dict[str, list[ast.expr]] = {}
        for sub in ast.walk(node):
            if isinstance(sub, ast.Assign) and len(sub.targets) == 1 and isinstance(sub.targets[0], ast.Name):
                self.assigned.setdefault(sub.targets[0].id, []).extend(_alternatives(sub.value))
        self.handled: dict[str, list[Any]] = {}  # `except X as exc`: exc is an X
        for sub in ast.walk(node):
            if isinstance(sub, ast.ExceptHandler) and sub.name and sub.type is not None:
                names = sub.type.elts if isinstance(sub.type, ast.Tuple) else [sub.type]
                self.handled.setdefault(sub.name, []).extend(self.resolve(n) for n in names)

    def _annotated(self, annotation: ast.expr) -> Any:
        """The class a local's annotation names (`X`, `module.X`, `X | None`)."""
        if isinstance(annotation, ast.BinOp):
            sides = [s for s in (annotation.left, annotation.right) if not _is_none(s)]
            return self._annotated(sides[0]) if len(sides) == 1 else None
        found = self.resolve(annotation) if isinstance(annotation, ast.Name | ast.Attribute) else None
        return found if isinstance(found, type) else None

    def _owner(self, fn: Callable[..., Any]) -> type | None:
        parts = fn.__qualname__.split(".")[:-1]
        if not parts or "<locals>" in parts:
            return None
        obj: Any = self.globals.get(parts[0])
        for part in parts[1:]:
            obj = getattr(obj, part, None)
        return obj if isinstance(obj, type) else None

    def resolve(self, expr: ast.expr) -> Any:
        """The object an expression names, when it can be known without running it (else None)."""
        if isinstance(expr, ast.Name):
            if expr.id in ("self", "cls") and self.owner is not None:
                return self.owner
            if expr.id in self.types:
                return self.types[expr.id]
            if expr.id in self.locals:
                return None
            return self.globals.get(expr.id, getattr(builtins, expr.id, None))
        if isinstance(expr, ast.Attribute):
            base = self.resolve(expr.value)
            if base is None:
                return None
            try:
                return inspect.getattr_static(base, expr.attr)
            except AttributeError:
                pass
            if isinstance(base, type):  # an attribute declared on the class (dataclass fields...)
                try:
                    return _class_of(typing.get_type_hints(base, include_extras=True).get(expr.attr))
                except Exception:
                    return None
            return getattr(base, expr.attr, None)
        if isinstance(expr, ast.Await):
            return None
        return None


def _is_none(expr: ast.expr) -> bool:
    return isinstance(expr, ast.Constant) and expr.value is None


def _alternatives(expr: ast.expr) -> list[ast.expr]:
    if isinstance(expr, ast.IfExp):
        return [*_alternatives(expr.body), *_alternatives(expr.orelse)]
    if isinstance(expr, ast.BoolOp):
        return [alt for value in expr.values for alt in _alternatives(value)]
    return [expr]


def _class_of(hint: Any) -> Any:
    """The class an annotation stands for (`Annotated[X, ...]` and `X | None` are X)."""
    if typing.get_origin(hint) is typing.Annotated:
        hint = typing.get_args(hint)[0]
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        hint = options[0] if len(options) == 1 else None
    return hint if isinstance(hint, type) else None


class _Walker:
    def __init__(self, reach: Reach, scope: _Scope, summary: _Summary) -> None:
        self.reach, self.scope, self.summary = reach, scope, summary

    def visit_body(self, node: ast.AST) -> None:
        assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for stmt in node.body:
            self.visit(stmt, ())

    def visit(self, node: ast.AST, caught: tuple[type[BaseException], ...]) -> None:
        if isinstance(node, ast.Try | ast.TryStar):
            inner = caught + self._caught_by(node.handlers)
            for stmt in node.body:
                self.visit(stmt, inner)
            for part in [*node.handlers, *node.orelse, *node.finalbody]:
                self.visit(part, caught)
            return
        if isinstance(node, ast.With | ast.AsyncWith):
            inner = caught
            for item in node.items:
                self.visit(item.context_expr, caught)
                inner = inner + self._suppressed(item.context_expr)
            for stmt in node.body:
                self.visit(stmt, inner)
            return
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            # Defined here to be called (often handed to a helper): its failures count, wherever it runs.
            for child in ast.iter_child_nodes(node):
                self.visit(child, ())
            return
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Name | ast.Attribute):
            self._made(self.scope.resolve(node.exc), None, caught)
        if isinstance(node, ast.Call):
            self._call(node, caught)
        for child in ast.iter_child_nodes(node):
            self.visit(child, caught)

    def _made(self, cls: Any, call: ast.Call | None, caught: tuple[type[BaseException], ...]) -> bool:
        if not (isinstance(cls, type) and issubclass(cls, AppError)):
            return False
        code: str | None = cls.code
        for keyword in call.keywords if call is not None else []:
            if keyword.arg == "code":  # the legacy form (allow-listed files only)
                code = self._legacy_code(keyword.value)
        if code is not None:
            self.summary.made.append((Failure(cls, code), caught))
        return True

    def _legacy_code(self, value: ast.expr) -> str | None:
        """`code="…"`, or `code=exc.code` passing on the code of the failure an `except X as exc` caught."""
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            return value.value
        if isinstance(value, ast.Attribute) and value.attr == "code" and isinstance(value.value, ast.Name):
            classes = self.scope.handled.get(value.value.id, [])
            codes = {c.code for c in classes if isinstance(c, type) and issubclass(c, AppError)}
            if len(codes) == 1:
                return codes.pop()
        return None

    def _call(
        self, call: ast.Call, caught: tuple[type[BaseException], ...], seen: frozenset[str] = frozenset()
    ) -> None:
        if isinstance(call.func, ast.Name) and call.func.id in self.scope.assigned:
            if call.func.id not in seen:
                for alternative in self.scope.assigned[call.func.id]:
                    self._call(
                        ast.Call(func=alternative, args=[], keywords=[]), caught, seen | {call.func.id}
                    )
            return
        target = self.scope.resolve(call.func)
        if self._made(target, call, caught):
            return
        if isinstance(target, type):  # a constructor: its __init__, if it is one of ours
            target = target.__dict__.get("__init__")
            if target is None:
                return
        if target is not None:
            key = self.reach._key(target)
            if key is not None:
                self.summary.calls.append((key, caught))
            return
        if isinstance(call.func, ast.Attribute) and call.func.attr not in BUILTIN_METHODS:
            for fn in self.reach.methods_named(call.func.attr):
                key = self.reach._key(fn)
                if key is not None:
                    self.summary.calls.append((key, caught))

    def _caught_by(self, handlers: list[ast.ExceptHandler]) -> tuple[type[BaseException], ...]:
        caught: list[type[BaseException]] = []
        for handler in handlers:
            if any(isinstance(n, ast.Raise) and n.exc is None for n in ast.walk(handler)):
                continue  # re-raises (perhaps only sometimes): it lets the failure through
            if handler.type is None:
                caught.append(BaseException)
                continue
            names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
            for name in names:
                cls = self.scope.resolve(name)
                if isinstance(cls, type) and issubclass(cls, BaseException):
                    caught.append(cls)
        return tuple(caught)

    def _suppressed(self, expr: ast.expr) -> tuple[type[BaseException], ...]:
        if isinstance(expr, ast.Call) and _called_name(expr) == "suppress":
            found = [self.scope.resolve(a) for a in expr.args]
            return tuple(c for c in found if isinstance(c, type) and issubclass(c, BaseException))
        return ()
