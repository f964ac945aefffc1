"""python-socketio's server, refusing what no real client sends.

python-socketio hands an incoming event named `connect` or `disconnect` to the connection lifecycle
handlers: a raw client sending `42["disconnect"]` would withdraw its own presence while staying connected,
and `42["connect", {}, {"token": ...}]` would re-run authentication and make the socket another user. An
event whose name is not a string (`42[{}]`, `42[]`), or is "*", fails inside python-socketio with no ack.
Such events are answered here with the protocol's typed ack and never reach a handler; a packet that cannot
be decoded at all closes its socket.
"""

from typing import Any

import socketio
import structlog
from socketio import packet

from chat_server.protocol import UnknownEvent, error
from shared_models.services.conversations import InvalidPayload

log = structlog.get_logger(__name__)
# python-socketio's lifecycle names, and "*", which it calls its catch-all handler for directly.
RESERVED = frozenset({"connect", "disconnect", "connect_error", "__disconnect_final", "*"})


class ChatSocketServer(socketio.AsyncServer):  # type: ignore[misc]
    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        try:
            await super()._handle_eio_message(eio_sid, data)
        except (ValueError, IndexError, KeyError, TypeError, RecursionError) as exc:
            # A packet python-socketio cannot decode (a binary event whose attachments do not match its
            # placeholders: it would keep the half-built packet and read every later frame of the socket
            # as an attachment; JSON nested too deep for the decoder). Forget it and close the socket at
            # the transport: the client reconnects.
            self._binary_packet.pop(eio_sid, None)
            log.warning("socket.protocol_error", error=type(exc).__name__)
            await self.close_transport(eio_sid)

    async def close_transport(self, eio_sid: str) -> None:
        """Close a client's Engine.IO connection the way a network drop would, so that the official client
        reports "transport close" and reconnects by itself (a Socket.IO disconnect would not be retried).

        `eio.disconnect` alone runs the disconnect handlers and sends Engine.IO's CLOSE packet, which
        engine.io-client ignores on a websocket (it waits for the socket to close, for up to a ping timeout):
        a None in the socket's queue is python-engineio's own signal for its websocket writer to close the
        websocket (a polling client gets the CLOSE packet on its next poll)."""
        socket = self.eio.sockets.get(eio_sid)
        if socket is None:
            return
        await self.eio.disconnect(eio_sid)
        await socket.queue.put(None)

    async def _handle_event(self, eio_sid: str, namespace: str | None, id: int | None, data: Any) -> None:
        name = data[0] if isinstance(data, list) and data else None
        if isinstance(name, str) and name not in RESERVED:
            await super()._handle_event(eio_sid, namespace, id, data)
            return
        if id is None:
            return  # nothing to answer: no ack was asked for
        answer = (
            error(UnknownEvent, f"{name!r} is not an event of this protocol.")
            if isinstance(name, str)
            else error(InvalidPayload, "An event's first element must be its name, a string.")
        )
        await self._send_packet(
            eio_sid, self.packet_class(packet.ACK, namespace=namespace or "/", id=id, data=[answer])
        )
