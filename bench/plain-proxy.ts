/**
 * The proxy scenario's anchor: a plain Node keep-alive reverse proxy, no auth, no token work — what
 * any reverse proxy written on node:http does. Every request goes to BENCH_UPSTREAM with the same
 * method, path, query, headers (less the hop-by-hop ones) and body, over keep-alive connections
 * (the same Agent settings gatehouse's token proxies use), and the answer streams back as it came.
 *
 *   BENCH_PORT=1234 BENCH_UPSTREAM=http://127.0.0.1:5678 node --require tsx/cjs bench/plain-proxy.ts
 */
import http from 'node:http';

const port = Number(process.env.BENCH_PORT);
const upstream = new URL(process.env.BENCH_UPSTREAM ?? '');
if (!Number.isInteger(port) || port <= 0 || upstream.protocol !== 'http:') {
  process.stderr.write('plain-proxy: set BENCH_PORT and BENCH_UPSTREAM (http://host:port)\n');
  process.exit(1);
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256, scheduling: 'lifo' });
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
]);

function without(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const k in headers) if (!HOP_BY_HOP.has(k)) out[k] = headers[k];
  return out;
}

const server = http.createServer((req, res) => {
  const headers = without(req.headers);
  headers.host = upstream.host;
  const up = http.request(
    { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, without(answer.headers));
      answer.pipe(res);
    },
  );
  up.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(up);
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1');
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
