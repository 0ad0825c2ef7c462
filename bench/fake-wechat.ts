import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Just enough of api.weixin.qq.com for gatehouse to log a user in: `GET /sns/jscode2session`
 * accepts any code and answers a fixed openid with a fresh session_key. Runs inside the bench
 * process; it is called once per gatehouse (to mint the session the load then reuses).
 */
export class FakeWechat {
  url = '';
  calls = 0;
  private readonly server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    req.resume();
    res.setHeader('content-type', 'application/json');
    if (req.method === 'GET' && path === '/sns/jscode2session') {
      this.calls++;
      res.end(JSON.stringify({ openid: 'o_bench', session_key: crypto.randomBytes(16).toString('base64') }));
    } else {
      res.statusCode = 404;
      res.end(JSON.stringify({ errcode: 40066, errmsg: 'invalid url' }));
    }
  });

  async start(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
