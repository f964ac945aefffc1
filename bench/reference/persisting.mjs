// Reference: our chat server's architecture in plain Node.js, the fair comparison for it. Every socket is
// authenticated by its JWT (HS256, `sub` = user id); every message costs what it costs a straightforward
// Node chat server on the official `mongodb` driver: a membership read, a message insert (unique per
// sender + clientId), a conversation update; then message:new to both participants' user rooms except the
// sending socket. Same events, acks and payloads as server.mjs, so load.mjs drives it unchanged.
//   JWT_SECRET=... node persisting.mjs PORT MONGODB_URI DB [JWT_SECRET]
// Listens only once the driver is connected and the indexes exist, so an open port means ready.
import { createServer } from "node:http";
import jwt from "jsonwebtoken";
import { MongoClient, ObjectId } from "mongodb";
import { Server } from "socket.io";

const [portArg, uri, dbName = "bench", secretArg] = process.argv.slice(2);
const port = Number(portArg);
const secret = secretArg ?? process.env.JWT_SECRET;
if (!port || !uri || !secret) {
  console.error("usage: JWT_SECRET=... node persisting.mjs PORT MONGODB_URI DB [JWT_SECRET]");
  process.exit(2);
}
const PREVIEW = 140;
const HEX_ID = /^[0-9a-f]{24}$/;

const client = new MongoClient(uri);
await client.connect();
const db = client.db(dbName);
const conversations = db.collection("conversations");
const messages = db.collection("reference_messages");
await messages.createIndex({ dedupe_key: 1 }, { unique: true });
await messages.createIndex({ conversation_id: 1 });
await messages.createIndex({ conversation_id: 1, created_at: 1 });

const fail = (code) => ({ ok: false, error: { code } });

// The same fixed-width key as shared_models.ids.sortable_key ("20261130T140321.433000-<id>"), so the
// conversations this reference touches still sort with the ones our server touches in the same database.
const sortableKey = (at, id) => `${at.toISOString().replace(/[-:]/g, "").replace("Z", "000")}-${id}`;

// References are stored as 24-hex strings (the engine matches no ObjectId outside `_id`); `_id` is an ObjectId.
async function participantConversation(userId, conversationId) {
  if (typeof conversationId !== "string" || !HEX_ID.test(conversationId)) return null;
  const conversation = await conversations.findOne({ _id: new ObjectId(conversationId) });
  if (!conversation) return null;
  return conversation.customer_id === userId || conversation.provider_user_id === userId ? conversation : null;
}

const messageNew = (doc) => ({
  id: doc._id.toHexString(), conversationId: doc.conversation_id, senderId: doc.sender_id, body: doc.body,
  attachments: doc.attachments, clientId: doc.client_id, createdAt: doc.created_at.toISOString(),
  cursor: sortableKey(doc.created_at, doc._id),
});

async function send(userId, data) {
  if (!data || typeof data.body !== "string" || typeof data.clientId !== "string" || !data.clientId
      || data.clientId.length > 64) return { ack: fail("invalid_payload") };
  const conversation = await participantConversation(userId, data.conversationId);
  if (!conversation) return { ack: fail("not_found") };
  if (conversation.customer_blocked || conversation.provider_blocked) return { ack: fail("blocked") };
  const doc = {
    _id: new ObjectId(), conversation_id: data.conversationId, sender_id: userId, body: data.body, attachments: [],
    client_id: data.clientId, dedupe_key: `${userId}:${data.clientId}`, created_at: new Date(),
  };
  try {
    await messages.insertOne(doc);
  } catch (error) {
    if (error?.code !== 11000) throw error;
    // A resend: answer with what was stored the first time, store and send nothing new.
    const stored = await messages.findOne({ dedupe_key: doc.dedupe_key });
    if (!stored) throw error;
    return { ack: { ok: true, message: messageNew(stored), duplicate: true } };
  }
  const key = sortableKey(doc.created_at, doc._id);
  // Forward only: two concurrent sends cannot move the conversation's activity back.
  await conversations.updateOne({ _id: conversation._id, activity_key: { $lt: key } }, {
    $set: {
      activity_key: key,
      last_message: { message_id: doc._id.toHexString(), sender_id: userId, preview: doc.body.slice(0, PREVIEW),
        at: doc.created_at },
    },
  });
  const message = messageNew(doc);
  return { ack: { ok: true, message, duplicate: false }, message,
    rooms: [`user:${conversation.customer_id}`, `user:${conversation.provider_user_id}`] };
}

const http = createServer((req, res) => { res.writeHead(200); res.end("ok"); });
const io = new Server(http, { transports: ["websocket"] });

io.use((socket, next) => {
  try {
    const claims = jwt.verify(socket.handshake.auth?.token ?? "", secret, { algorithms: ["HS256"] });
    if (typeof claims.sub !== "string" || !HEX_ID.test(claims.sub)) throw new Error("no user id");
    socket.data.userId = claims.sub;
    next();
  } catch {
    next(new Error("invalid token"));
  }
});

io.on("connection", (socket) => {
  const userId = socket.data.userId;
  socket.join(`user:${userId}`);
  socket.on("conversation:join", async (data, ack) => {
    const reply = typeof ack === "function" ? ack : () => {};
    try {
      if (!(await participantConversation(userId, data?.conversationId))) return reply(fail("not_found"));
      socket.join(`conversation:${data.conversationId}`);
      reply({ ok: true, conversationId: data.conversationId });
    } catch (error) {
      console.error("conversation:join failed", error);
      reply(fail("internal"));
    }
  });
  socket.on("message:send", async (data, ack) => {
    const reply = typeof ack === "function" ? ack : () => {};
    try {
      const { ack: answer, message, rooms } = await send(userId, data);
      if (message) socket.to(rooms).emit("message:new", message);
      reply(answer);
    } catch (error) {
      console.error("message:send failed", error);
      reply(fail("internal"));
    }
  });
});

http.listen(port, "127.0.0.1", () => console.log(`persisting reference listening on ${port}, database ${dbName}`));
