"""Stripe's API conventions the stand-in's resources share: ids, form-decoded params, the fixture objects and
Stripe's error bodies."""

import copy
import json
import re
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import JSONResponse

Json = dict[str, Any]

FIXTURES: dict[str, Any] = json.loads((Path(__file__).parent / "fixtures.json").read_text())["resources"]
API_VERSION = "2026-10-28.endive"


def fixture(kind: str) -> Json:
    """A fresh copy of Stripe's example `kind` object, for the caller to override."""
    obj: Json = copy.deepcopy(FIXTURES[kind])
    return obj


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def public(obj: Json) -> Json:
    """The object as Stripe shows it: without the fake's private `_…` fields."""
    return {k: v for k, v in obj.items() if not k.startswith("_")}


def decode_form(body: str) -> Json:
    """Stripe's form encoding (`a[b][0][c]=v`) back into nested dicts and lists."""
    root: Json = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node: Any = root
        for part, nxt in zip(parts, [*parts[1:], None], strict=True):
            if nxt is None:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    listed: Json = _listify(root)
    return listed


def _listify(node: Any) -> Any:
    if isinstance(node, dict):
        if node and all(k.isdigit() for k in node):
            return [_listify(node[k]) for k in sorted(node, key=int)]
        return {k: _listify(v) for k, v in node.items()}
    return node


def stripe_error(status: int, message: str, code: str = "resource_missing") -> JSONResponse:
    return StripeError(status, message, code).response()


class StripeError(Exception):
    """A refusal in Stripe's error shape (`{"error": {"type", "code", "message", "param"?, ...}}`)."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        param: str | None = None,
        kind: str = "invalid_request_error",
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: Json = {"type": kind, "message": message, **extra}
        if code is not None:
            self.body["code"] = code
        if param is not None:
            self.body["param"] = param

    def response(self) -> JSONResponse:
        return JSONResponse({"error": self.body}, status_code=self.status)


def missing(param: str) -> StripeError:
    return StripeError(400, f"Missing required param: {param}.", "parameter_missing", param)


def no_such(what: str, obj_id: object, param: str | None = None, status: int = 404) -> StripeError:
    return StripeError(status, f"No such {what}: '{obj_id}'", "resource_missing", param)


def integer(params: Json, name: str, default: int | None = None) -> int | None:
    """A form param Stripe types as an integer (the SDK sends it as text)."""
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(str(raw))
    except ValueError:
        raise StripeError(400, f"Invalid integer: {raw}", "parameter_invalid_integer", name) from None


def flag(params: Json, name: str) -> bool:
    return str(params.get(name, "")).lower() == "true"


def choice(params: Json, name: str, allowed: tuple[str, ...], default: str | None = None) -> str | None:
    value = params.get(name) or default
    if value is not None and value not in allowed:
        raise StripeError(
            400, f"Invalid {name}: must be one of {', '.join(allowed)}", "parameter_invalid_string", name
        )
    return None if value is None else str(value)
