"""python-socketio's server, refusing what no real client sends.

python-socketio hands an incoming event named `connect` or `disconnect` to the connection lifecycle
handlers: a raw client sending `42["disconnect"]` would withdraw its own presence while staying connected,
and `42["connect", {}, {"token": ...}]` would re-run authentication and make the socket another user. An
event whose name is not a string (`42[{}]`, `42[]`) fails inside python-socketio with no ack. Such events
are answered here with the protocol's typed ack and never reach a handler.
"""

from typing import Any

import socketio
from socketio import packet

from chat_server.protocol import error

RESERVED = frozenset({"connect", "disconnect", "connect_error", "__disconnect_final"})


class ChatSocketServer(socketio.AsyncServer):  # type: ignore[misc]
    async def _handle_event(self, eio_sid: str, namespace: str | None, id: int | None, data: Any) -> None:
        name = data[0] if isinstance(data, list) and data else None
        if isinstance(name, str) and name not in RESERVED:
            await super()._handle_event(eio_sid, namespace, id, data)
            return
        if id is None:
            return  # nothing to answer: no ack was asked for
        answer = (
            error("unknown_event", f"{name!r} is not an event of this protocol.")
            if isinstance(name, str)
            else error("invalid_payload", "An event's first element must be its name, a string.")
        )
        await self._send_packet(
            eio_sid, self.packet_class(packet.ACK, namespace=namespace or "/", id=id, data=[answer])
        )
