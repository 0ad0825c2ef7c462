/**
 * The baseline for `npm run bench`: a bare Koa app answering POST / with a fixed JSON envelope of
 * the same shape gatehouse sends, and POST /wechat-tp/{codeName}/events (the callbacks scenario's
 * route) with `success`, as gatehouse answers a push. No body parsing, no signature, no
 * decryption, no routing library, no store — the ceiling that gatehouse's numbers are compared with.
 *
 * With BENCH_BODYPARSER=1 it reads and parses every JSON body first (koa-bodyparser, as the common
 * Koa service does) and answers POST / only when the body is a JSON object: the anchor issue 14
 * names for the RPC rows ("a bare Koa + bodyparser endpoint"), since every RPC call has a body to read.
 *
 *   BENCH_PORT=1234 [BENCH_BODYPARSER=1] node --require tsx/cjs bench/bare-koa.ts
 */
import Koa from 'koa';
import bodyParser from 'koa-bodyparser';

const port = Number(process.env.BENCH_PORT);
if (!Number.isInteger(port) || port <= 0) {
  process.stderr.write('bare-koa: set BENCH_PORT to the port to listen on\n');
  process.exit(1);
}

const parse = process.env.BENCH_BODYPARSER === '1';
const app = new Koa();
if (parse) app.use(bodyParser({ enableTypes: ['json'], jsonLimit: '64kb' }));
const parsedObject = (body: unknown) => body !== null && typeof body === 'object' && !Array.isArray(body);
app.use((ctx) => {
  if (ctx.method === 'POST' && ctx.path === '/' && (!parse || parsedObject(ctx.request.body))) {
    ctx.body = { returnCode: 0, returnMessage: 'OK', returnData: {}, version: 1, componentName: 'MA' };
  } else if (ctx.method === 'POST' && /^\/wechat-tp\/[^/]+\/events$/.test(ctx.path)) {
    ctx.type = 'text/plain';
    ctx.body = 'success';
  } else if (ctx.path === '/healthz') {
    ctx.body = { status: 'ok' };
  }
});

const server = app.listen(port, '127.0.0.1');
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
