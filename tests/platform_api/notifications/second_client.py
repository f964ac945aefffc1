"""A second process with its own database client, for the collapse tests: Beanie binds each document class
to one client per process, so `notify` through an independent client needs a process of its own.

`python -m tests.platform_api.notifications.second_client URI DB JOB`: connects, answers `ready`, waits for
a line on stdin, runs every call of JOB (JSON: recipient, now, online, calls [[source id, payload]...]) at
once, then prints `result` and the outcomes as one JSON line.
"""

import asyncio
import json
import sys
from datetime import datetime

from shared_models.notifications import CATALOGUE
from shared_models.runtime.registry import connect, init_models
from shared_models.services.notifications import Presence, notify


async def main(uri: str, db: str, job: dict[str, object]) -> None:
    client = connect(uri, 5000)
    await init_models(client, db)
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    now = datetime.fromisoformat(str(job["now"]))
    presence = Presence(online=bool(job["online"]), engaged=False)
    calls = job["calls"]
    assert isinstance(calls, list)
    outcomes = await asyncio.gather(
        *(
            notify(CATALOGUE["new_message"], str(job["recipient"]), source, payload, presence, now)
            for source, payload in calls
        )
    )
    result = [
        {
            "reason": o.reason,
            "emailed": o.emailed,
            "occurrences": o.notification.occurrences if o.notification else None,
        }
        for o in outcomes
    ]
    print("result " + json.dumps(result), flush=True)
    await client.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3])))
