"""Start, probe and stop real processes: shared by the dev launcher and the test harness."""

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

# Ports for pytest-xdist workers: a block of its own per worker, below Linux's ephemeral range (32768-60999), so
# no other worker's server and no client socket takes a port between its choice and its server's bind. Two
# workers asking the kernel for "any free port" can both be handed the same one; the second server then fails
# to bind while the first answers in its place (seen: a live stack whose platform URL answered another
# process's 404s).
_WORKER_PORTS = 3000
_next_port: dict[str, int] = {}


def _worker_port(worker: str) -> int | None:
    n = int(worker.removeprefix("gw")) if worker.removeprefix("gw").isdigit() else 0
    first = 20000 + (n % 4) * _WORKER_PORTS
    for _ in range(_WORKER_PORTS):
        port = _next_port.get(worker, first)
        _next_port[worker] = first + (port + 1 - first) % _WORKER_PORTS
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue  # taken, or still in TIME_WAIT from an earlier run
            return port
    return None


def free_port() -> int:
    """A TCP port nothing listens on at 127.0.0.1 now: from this pytest-xdist worker's own block when run by
    one (PYTEST_XDIST_WORKER), else any the kernel offers."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker and (port := _worker_port(worker)) is not None:
        return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until(predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> None:
    """Poll a condition (never a fixed sleep): returns as soon as it holds, fails loudly after `timeout`."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


@dataclass
class ManagedProcess:
    name: str
    argv: list[str]
    ready: Callable[[], bool]
    env: dict[str, str] | None = None
    log_path: Path | None = None
    cwd: Path | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)
    _log: IO[bytes] | None = field(default=None, init=False)

    def start(self, timeout: float = 30.0) -> "ManagedProcess":
        stdout: IO[bytes] | None = None
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.log_path.open("ab")
            stdout = self._log
        env = {**os.environ, **(self.env or {})}
        # Own process group: Ctrl-C in the launcher's terminal reaches the launcher, which stops each child
        # in order, instead of every child racing to die at once.
        self.proc = subprocess.Popen(
            self.argv, env=env, cwd=self.cwd, stdout=stdout, stderr=subprocess.STDOUT, start_new_session=True
        )

        def up() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with code {self.proc.returncode}; see {self.log_path}"
                )
            return self.ready()

        try:
            wait_until(up, timeout, f"{self.name} to become ready")
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout)
        if self._log is not None:
            self._log.close()
            self._log = None

    def kill(self) -> None:
        """Abrupt death (SIGKILL), for fault-injection tests."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
