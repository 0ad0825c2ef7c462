import http from 'node:http';
import os from 'node:os';

/** a local HTTP server that records the JSON posted to it (a forwarding target) */
export async function sink(): Promise<{ url: string; got: any[]; close(): Promise<void> }> {
  const got: any[] = [];
  const server = http.createServer((req, res) => {
    let b = '';
    req.on('data', (d) => (b += d));
    req.on('end', () => {
      got.push(JSON.parse(b));
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`, got, close: () => new Promise((r) => server.close(() => r())) };
}

/** a host that must never be reached: it records every request sent to it */
export async function thief(): Promise<{ url: string; got: { url: string; body: string }[]; close(): Promise<void> }> {
  const got: { url: string; body: string }[] = [];
  const server = http.createServer((req, res) => {
    let b = '';
    req.on('data', (d) => (b += d));
    req.on('end', () => {
      got.push({ url: req.url ?? '', body: b });
      res.setHeader('content-type', 'application/json');
      res.end('{"errcode":0,"status":200,"access_token":"stolen","expires_in":7200}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, got, close: () => new Promise((r) => server.close(() => r())) };
}

/** this machine's first non-loopback IPv4 address, if it has one */
export function externalAddress(): string | undefined {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal && !a.address.startsWith('127.')) return a.address;
  }
  return undefined;
}
