import http from 'node:http';

/** What a raw request got back. */
export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

export interface RawRequest {
  path: string;
  method: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** send the body in 8 KiB chunks without a Content-Length */
  chunked?: boolean;
  /** an oversized body: sent on its own connection, which the server may close early */
  big?: boolean;
}

/**
 * Sends one request exactly as given (bodies of any bytes, chunked or not) and collects the answer.
 * A server may answer 413 and close before it has read an oversized body: that is not an error.
 */
export function sendRaw(base: URL, agent: http.Agent, c: RawRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...c.headers };
    if (c.body && !c.chunked) headers['content-length'] = String(c.body.length);
    if (!c.body && c.method === 'POST') headers['content-length'] = '0';
    let answered = false;
    const req = http.request(
      { host: base.hostname, port: base.port, path: c.path, method: c.method, headers, agent: c.big ? false : agent },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(15_000, () => req.destroy(new Error('client timeout')));
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    if (c.body) {
      if (c.chunked) {
        for (let i = 0; i < c.body.length; i += 8192) req.write(c.body.subarray(i, i + 8192));
      } else req.write(c.body);
    }
    req.end();
  });
}

/** runs fn over items with at most `width` in flight */
export async function pool<T>(items: T[], width: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i], i);
      }
    }),
  );
}
