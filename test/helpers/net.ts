import http from 'node:http';
import os from 'node:os';

/** what a forwarding target (`sink()`) has received, in arrival order */
export interface Sink {
  /** where to forward to (path `/hook`) */
  url: string;
  /** each body parsed as JSON (undefined for a body that is not JSON) */
  got: any[];
  /** each body as text */
  raw: string[];
  /** each request's content-type ('' when none) */
  types: string[];
  /** forgets everything received so far */
  clear(): void;
  close(): Promise<void>;
}

/** a local HTTP server that records what is posted to it (a forwarding target) */
export async function sink(): Promise<Sink> {
  const got: any[] = [];
  const raw: string[] = [];
  const types: string[] = [];
  const server = http.createServer((req, res) => {
    let b = '';
    req.setEncoding('utf8');
    req.on('data', (d) => (b += d));
    req.on('end', () => {
      raw.push(b);
      types.push(String(req.headers['content-type'] ?? ''));
      try {
        got.push(JSON.parse(b));
      } catch {
        got.push(undefined);
      }
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`,
    got,
    raw,
    types,
    clear: () => {
      got.length = 0;
      raw.length = 0;
      types.length = 0;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
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
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    got,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** this machine's first non-loopback IPv4 address, if it has one */
export function externalAddress(): string | undefined {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? [])
      if (a.family === 'IPv4' && !a.internal && !a.address.startsWith('127.')) return a.address;
  }
  return undefined;
}
