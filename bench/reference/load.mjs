// Load generator (official socket.io-client): every client joins its conversation; every client sends
// `messages` messages, each waiting for its ack (closed loop); the other participant receives message:new.
// Reads a JSON config on stdin: {url, clients: [{token, conversationId}], messages}
// Prints one JSON line: {deliveries, seconds, deliveriesPerSecond, p50, p99, errors}
import { io } from "socket.io-client";

const config = JSON.parse(await new Promise((resolve) => {
  let text = ""; process.stdin.on("data", (c) => (text += c)); process.stdin.on("end", () => resolve(text));
}));
const latencies = [];
let errors = 0;
const sockets = await Promise.all(config.clients.map((c) => new Promise((resolve, reject) => {
  const s = io(config.url, { transports: ["websocket"], reconnection: false, auth: { token: c.token } });
  s.on("connect", () => s.timeout(10000).emit("conversation:join", { conversationId: c.conversationId }, (err, ack) =>
    err || !ack?.ok ? reject(new Error(`join failed: ${JSON.stringify(err ?? ack)}`)) : resolve({ s, c })));
  s.on("connect_error", reject);
  s.on("message:new", (m) => { const sent = Number(m.body.split(":")[1]); latencies.push(performance.now() - sent); });
})));
const expected = config.clients.length * config.messages;
const started = performance.now();
await Promise.all(sockets.map(async ({ s, c }, i) => {
  for (let n = 0; n < config.messages; n++) {
    const ack = await s.timeout(20000).emitWithAck("message:send",
      { conversationId: c.conversationId, clientId: `${i}-${n}-${started}`, body: `m:${performance.now()}` }).catch(() => null);
    if (!ack?.ok) errors++;
  }
}));
const deadline = performance.now() + 10000;
while (latencies.length < expected - errors && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
const seconds = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p) => latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] : null;
console.log(JSON.stringify({ deliveries: latencies.length, seconds, deliveriesPerSecond: latencies.length / seconds,
  p50: pct(0.5), p99: pct(0.99), errors }));
sockets.forEach(({ s }) => s.close());
process.exit(0);
