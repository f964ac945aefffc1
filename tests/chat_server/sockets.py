"""Socket clients for tests: python-socketio's AsyncClient and the official JS client run by node."""

import asyncio
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import socketio

JS_DIR = Path(__file__).resolve().parent.parent / "js"


@dataclass
class JsResult:
    events: list[dict[str, Any]] = field(default_factory=list)

    def first(self, name: str) -> dict[str, Any] | None:
        return next((e for e in self.events if e["event"] == name), None)


def _parse(stdout: str) -> JsResult:
    return JsResult([json.loads(line) for line in stdout.splitlines() if line.startswith("{")])


def js_connect(url: str, mode: str, token: str = "") -> JsResult:
    done = subprocess.run(
        ["node", str(JS_DIR / "connect.mjs"), url, mode, token],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    return _parse(done.stdout)


class JsHeld:
    """A JS client kept connected in the background until the server drops it."""

    def __init__(self, url: str, token: str) -> None:
        self.proc = subprocess.Popen(
            ["node", str(JS_DIR / "connect.mjs"), url, "auth", token, "--hold"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        first = json.loads(self.proc.stdout.readline())  # blocks until connected or refused
        assert first["event"] == "connect", first

    def close(self) -> None:
        self.proc.kill()
        self.proc.communicate(timeout=10)

    def wait_disconnect(self, timeout: float = 20) -> JsResult:
        out, err = self.proc.communicate(timeout=timeout)
        assert self.proc.returncode == 0, err + out
        return _parse(out)


class PyClient:
    """python-socketio's AsyncClient, recording connect errors and disconnects as awaitable events."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.connect_error: Any = None
        self.disconnected = asyncio.Event()
        self.sio.on("connect_error", self._on_connect_error)
        self.sio.on("disconnect", self._on_disconnect)

    async def _on_connect_error(self, data: Any) -> None:
        self.connect_error = data

    async def _on_disconnect(self, *_: Any) -> None:
        self.disconnected.set()

    async def connect(self, url: str, token: str | None = None, cookie: str | None = None) -> bool:
        headers = {"Cookie": f"session={cookie}"} if cookie else {}
        try:
            await self.sio.connect(
                url,
                auth={"token": token} if token else None,
                headers=headers,
                transports=["websocket"],
                wait_timeout=10,
            )
        except socketio.exceptions.ConnectionError:
            return False
        return True

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()
