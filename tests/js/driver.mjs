// The official socket.io-client, scripted by a Python test over stdin/stdout (one JSON object per line).
//   in:  {"op": "connect", "url": ..., "token": ..., "reconnect"?: delay ms} | {"op": "emit", "id": n, "event": ..., "data": ...}
//        | {"op": "emit_raw", "id": n, "event": ..., "args": [...]} | {"op": "close"}
//        | {"op": "ack_packets", "id": n}: answered as an ack whose data maps each ack id to the number of ack
//          packets that carried it (socket.io-client itself drops a second ack for one id, unseen)
//   out: {"type": "connect"} | {"type": "connect_error", "message", "data"} | {"type": "disconnect", "reason"}
//        | {"type": "ack", "id": n, "data": ...} | {"type": "event", "event": ..., "data": ...}
import { createInterface } from "node:readline";
import { io } from "socket.io-client";

const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
let socket = null;
const ackPackets = {};

createInterface({ input: process.stdin }).on("line", (line) => {
  const cmd = JSON.parse(line);
  if (cmd.op === "connect") {
    // `reconnect`: behave like the app, which reconnects on its own after a drop (with that first delay).
    const reconnection = cmd.reconnect
      ? { reconnection: true, reconnectionDelay: cmd.reconnect, reconnectionDelayMax: cmd.reconnect * 2 }
      : { reconnection: false };
    socket = io(cmd.url, { transports: ["websocket"], ...reconnection, auth: { token: cmd.token } });
    socket.on("connect", () => out({ type: "connect", id: socket.id }));
    socket.on("connect_error", (err) => out({ type: "connect_error", message: err.message, data: err.data ?? null }));
    socket.on("disconnect", (reason) => out({ type: "disconnect", reason }));
    socket.onAny((event, data) => out({ type: "event", event, data }));
    socket.io.on("packet", (packet) => {
      if (packet.type === 3 || packet.type === 6) ackPackets[packet.id] = (ackPackets[packet.id] ?? 0) + 1; // ACK, BINARY_ACK
    });
  } else if (cmd.op === "emit") {
    socket.timeout(10000).emit(cmd.event, cmd.data, (err, ack) =>
      out({ type: "ack", id: cmd.id, data: err ? { timeout: true } : ack }));
  } else if (cmd.op === "emit_raw") {
    socket.timeout(10000).emit(cmd.event, ...cmd.args, (err, ack) =>
      out({ type: "ack", id: cmd.id, data: err ? { timeout: true } : ack }));
  } else if (cmd.op === "ack_packets") {
    out({ type: "ack", id: cmd.id, data: ackPackets });
  } else if (cmd.op === "close") {
    socket?.close();
    process.exit(0);
  }
});
