// Connects to the chat server with the official socket.io-client, as the React Native app and the SPA do,
// and prints one JSON line per thing that happened, so the Python test can assert on it.
//   node connect.mjs URL MODE TOKEN [--hold]
// MODE: "auth" sends {auth: {token}}; "cookie" sends the session cookie in the handshake; "none" sends nothing.
// --hold keeps the connection open until the server disconnects it (or 15 s pass), reporting the reason.
import { io } from "socket.io-client";

const [url, mode, token, hold] = process.argv.slice(2);
const options = { transports: ["websocket"], reconnection: false, timeout: 5000 };
if (mode === "auth") options.auth = { token };
if (mode === "cookie") options.extraHeaders = { Cookie: `session=${token}` };

const say = (event) => console.log(JSON.stringify(event));
const giveUp = setTimeout(() => { say({ event: "timeout" }); process.exit(2); }, 15000);
const socket = io(url, options);

socket.on("connect", () => {
  say({ event: "connect", id: socket.id });
  if (hold !== "--hold") { socket.close(); clearTimeout(giveUp); process.exit(0); }
});
socket.on("disconnect", (reason) => { say({ event: "disconnect", reason }); clearTimeout(giveUp); process.exit(0); });
socket.on("connect_error", (err) => {
  say({ event: "connect_error", message: err.message, data: err.data ?? null });
  clearTimeout(giveUp);
  process.exit(0);
});
