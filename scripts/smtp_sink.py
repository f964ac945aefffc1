"""A local SMTP sink (aiosmtpd): accepts every message and stores it as an .eml file in a folder."""

import argparse
import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class MaildirSink:
    def __init__(self, maildir: Path) -> None:
        self.maildir = maildir
        maildir.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
        tmp = self.maildir / f".{name}.tmp"
        tmp.write_bytes(envelope.original_content or envelope.content)
        tmp.rename(self.maildir / name)  # atomic: readers never see half a message
        return "250 Message accepted for delivery"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--maildir", type=Path, default=Path(".data/mail"))
    args = parser.parse_args()
    controller = Controller(MaildirSink(args.maildir), hostname=args.host, port=args.port)
    controller.start()
    print(f"SMTP sink on {args.host}:{args.port}, storing mail in {args.maildir}", flush=True)
    try:
        asyncio.run(asyncio.Event().wait())
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
