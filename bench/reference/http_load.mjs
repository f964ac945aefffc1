// HTTP load for bench/http_ceiling.py: N GETs of one URL at a fixed concurrency, keep-alive, from Node
// (cheaper per request than a Python client, so more of the machine is left to the server measured).
//   node http_load.mjs URL N CONCURRENCY [AUTHORIZATION]  ->  {"rate": r, "p50": ms, "p95": ms, "errors": n}
import http from "node:http";

const [url, nArg, cArg, auth] = process.argv.slice(2);
const n = Number(nArg), concurrency = Number(cArg);
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const headers = auth ? { Authorization: auth } : {};
const latencies = [];
let errors = 0, next = 0;

function once() {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    http.get(url, { agent, headers }, (res) => {
      res.resume();
      res.on("end", () => {
        if (res.statusCode !== 200) errors += 1;
        latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
        resolve();
      });
    }).on("error", () => { errors += 1; resolve(); });
  });
}

async function worker() {
  while (next < n) { next += 1; await once(); }
}

const started = process.hrtime.bigint();
await Promise.all(Array.from({ length: concurrency }, worker));
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
latencies.sort((a, b) => a - b);
const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
console.log(JSON.stringify({ rate: n / seconds, p50: at(0.5), p95: at(0.95), errors }));
agent.destroy();
