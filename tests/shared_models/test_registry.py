"""Both services register exactly the shared document list, through the one initialiser."""

import ast
import inspect
from pathlib import Path

from beanie import Document
from fastapi import FastAPI

import shared_models.documents as documents
from chat_server.app import ChatApp
from shared_models.runtime.registry import DOCUMENT_MODELS

ROOT = Path(__file__).resolve().parents[2]


def test_platform_registers_the_shared_document_list(platform_app: FastAPI) -> None:
    assert platform_app.state.document_models is DOCUMENT_MODELS


def test_chat_server_registers_the_shared_document_list(chat_app: ChatApp) -> None:
    assert chat_app.http.state.document_models is DOCUMENT_MODELS


def test_every_shared_document_is_in_the_list() -> None:
    defined = {
        obj
        for _, obj in inspect.getmembers(documents, inspect.isclass)
        if issubclass(obj, Document) and obj is not Document
    }
    assert defined == set(DOCUMENT_MODELS)


def test_only_shared_models_initialises_beanie() -> None:
    """A service calling init_beanie itself could register a different list; only the registry may."""
    offenders = []
    for package in ("platform_api", "chat_server", "scripts"):
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                name = (
                    node.id
                    if isinstance(node, ast.Name)
                    else node.attr
                    if isinstance(node, ast.Attribute)
                    else None
                )
                if name == "init_beanie":
                    offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_shared_models_has_no_web_code() -> None:
    for path in (ROOT / "shared_models").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            modules = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for module in modules:
                assert module.split(".")[0] not in {"fastapi", "starlette", "socketio", "engineio"}, (
                    path,
                    module,
                )
