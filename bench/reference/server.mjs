// Reference: the Node.js Socket.IO server our chat server replaces, with the same event semantics
// (conversation:join, message:send with ack, message:new to the other participant), in memory, no auth.
//   node server.mjs PORT
import { createServer } from "node:http";
import { Server } from "socket.io";

const port = Number(process.argv[2] ?? 8101);
const http = createServer((req, res) => { res.writeHead(200); res.end("ok"); });
const io = new Server(http, { transports: ["websocket"] });
let seq = 0;

io.on("connection", (socket) => {
  socket.on("conversation:join", (data, ack) => {
    socket.join(`conversation:${data.conversationId}`);
    ack?.({ ok: true, conversationId: data.conversationId });
  });
  socket.on("message:send", (data, ack) => {
    if (!data || typeof data.body !== "string" || !data.clientId) return ack?.({ ok: false, error: { code: "invalid_payload" } });
    const message = { id: String(++seq), conversationId: data.conversationId, senderId: socket.id, body: data.body,
      attachments: [], clientId: data.clientId, createdAt: new Date().toISOString(), cursor: String(seq) };
    socket.to(`conversation:${data.conversationId}`).emit("message:new", message);
    ack?.({ ok: true, message, duplicate: false });
  });
});
http.listen(port, "127.0.0.1", () => console.log(`reference listening on ${port}`));
