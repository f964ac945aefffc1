"""The framework ceiling: python-socketio with the reference's semantics and nothing else (no auth, no database).

Run by bench/chat_fanout.py as `uvicorn bench.reference.ceiling:app`, so the figures separate what
python-socketio costs from what our authorization and persistence cost.
"""

import itertools
from typing import Any

import socketio

sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins="*")
seq = itertools.count(1)


async def join(sid: str, data: dict[str, Any]) -> dict[str, Any]:
    await sio.enter_room(sid, f"conversation:{data['conversationId']}")
    return {"ok": True, "conversationId": data["conversationId"]}


async def send(sid: str, data: dict[str, Any]) -> dict[str, Any]:
    n = next(seq)
    message = {
        "id": str(n),
        "conversationId": data["conversationId"],
        "senderId": sid,
        "body": data["body"],
        "attachments": [],
        "clientId": data["clientId"],
        "createdAt": "",
        "cursor": str(n),
    }
    await sio.emit("message:new", message, room=f"conversation:{data['conversationId']}", skip_sid=sid)
    return {"ok": True, "message": message, "duplicate": False}


sio.on("conversation:join", join)
sio.on("message:send", send)
app = socketio.ASGIApp(sio)
