"""Scratch space for a benchmark: a temporary folder and the processes started in it, both gone at the end.

    with scratch("bench-search-") as (tmp, procs):
        procs.append(stack.engine(port, tmp / "mongo", tmp).start())

At the end — normal, an error, or Ctrl-C (KeyboardInterrupt) — every process in `procs` is killed
(SIGKILL to its process group: scratch data needs no orderly shutdown, and a graceful stop can wait for the
engine to finish a large bulk write) and the folder is removed, with Ctrl-C ignored while that runs so a
second one cannot cut it short.
"""

import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from scripts.processes import ManagedProcess


@contextmanager
def scratch(prefix: str) -> Iterator[tuple[Path, list[ManagedProcess]]]:
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    procs: list[ManagedProcess] = []
    try:
        yield tmp, procs
    finally:
        release(tmp, procs)


def release(tmp: Path, procs: list[ManagedProcess]) -> None:
    """Kill `procs` (last started first) and remove `tmp`, with Ctrl-C ignored meanwhile."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        for proc in reversed(procs):
            proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    finally:
        signal.signal(signal.SIGINT, previous)


def interruptible(run: Callable[[], object]) -> None:
    """Run a benchmark's main; Ctrl-C or SIGTERM end it (its `finally` cleans up) with exit status 130."""

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        run()
    except KeyboardInterrupt:
        print("interrupted; every process stopped and the scratch folder removed", file=sys.stderr)
        sys.exit(130)
