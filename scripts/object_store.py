"""The local S3 stand-in keeps what was stored in it between runs, under the data dir beside the engine's.

moto holds objects in memory only and has no persistence of its own (5.2). Its recorder, a documented moto
feature, appends every request it serves to a log; each start of the launcher replays that log's writes before
the platform starts, so objects, their content types and deletions come back as they were. The log is moto's
own format (HTTP requests), so it survives moto upgrades, which a pickled backend would not.
"""

import json
import os
from dataclasses import dataclass
from pathlib import Path

import httpx

RECORDING = "requests.jsonl"
# Requests that change nothing: dropped from the log before a replay, so it grows with writes, not downloads.
READS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Compacted:
    writes: int  # kept, in their order
    unreadable: int  # lines a crash cut short (moto writes each request as one JSON line)


def server_env(store: Path) -> dict[str, str]:
    """The environment that makes moto record every request it serves into `store`."""
    store.mkdir(parents=True, exist_ok=True)
    return {"MOTO_ENABLE_RECORDING": "true", "MOTO_RECORDER_FILEPATH": str(store.resolve() / RECORDING)}


def compact(store: Path) -> Compacted:
    """Keep the log's writes in order and drop its reads and broken lines. Call before the server starts."""
    log = store / RECORDING
    if not log.exists():
        return Compacted(0, 0)
    writes = unreadable = 0
    scratch = log.with_name(RECORDING + ".compacting")
    with log.open("rb") as source, scratch.open("wb") as target:
        for line in source:
            try:
                method = json.loads(line)["method"]
            except (ValueError, KeyError, TypeError):
                unreadable += 1
                continue
            if method not in READS:
                target.write(line if line.endswith(b"\n") else line + b"\n")
                writes += 1
        target.flush()
        os.fsync(target.fileno())
    os.replace(scratch, log)
    return Compacted(writes, unreadable)


def replay(endpoint: str) -> None:
    """Make the running server replay its log (it records nothing while it does)."""
    response = httpx.post(f"{endpoint}/moto-api/recorder/replay-recording", timeout=300)
    response.raise_for_status()
