import fs from 'node:fs';
import path from 'node:path';
import type Router from '@koa/router';
import type Koa from 'koa';
import { BodyError, readBody } from '../../../system/body';
import type { Caller } from '../../../system/callers';
import { Codes, RpcError } from '../../../system/errors';
import type { Registry } from '../../../system/registry';
import { rpcDispatch } from '../../../system/rpc';
import type { Services } from '../../contract';
import { recordAudit } from '../../schema';
import type { ConsoleSession } from '../../services/console-auth';

export const COOKIE = 'gh_console';
const BODY_LIMIT = 64 * 1024;

/**
 * Where the built console is: `dist/console/` (`npm run build`), beside the compiled server when
 * running from dist/, or under the checkout's dist/ when running from source (tests, tsx).
 */
export function consoleDir(): string | undefined {
  const candidates = [
    path.resolve(__dirname, '../../../console'),
    path.resolve(__dirname, '../../../dist/console'),
    path.resolve(__dirname, 'console'), // the bundled server: dist/gatehouse.js
  ];
  return candidates.find((d) => fs.existsSync(path.join(d, 'index.html')));
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** what the console's pages may load: their own files and nothing else, never framed */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/** the built files, read once (the whole console is a few tens of KB) */
function loadAssets(dir: string | undefined): Map<string, { body: Buffer; type: string }> {
  const files = new Map<string, { body: Buffer; type: string }>();
  if (!dir) return files;
  const walk = (d: string, prefix: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name), `${prefix}${e.name}/`);
      else {
        const type = TYPES[path.extname(e.name)] ?? 'application/octet-stream';
        files.set(`${prefix}${e.name}`, { body: fs.readFileSync(path.join(d, e.name)), type });
      }
    }
  };
  walk(dir, '');
  return files;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The console's routes: its page and assets, sign-in / session / sign-out, and `POST /console/rpc`
 * — the RPC endpoint for the signed-in browser: the session cookie stands for the Authorization
 * header and every call must carry the session's CSRF token (`X-CSRF-Token`), so that nothing a
 * backend could not do (same interfaces, same scope checks) is done, and no other site can make the
 * browser do it.
 */
export function consoleRoutes(router: Router, sv: Services, registry: Registry<Services>): void {
  const assets = loadAssets(consoleDir());
  const dispatch = rpcDispatch<Services>({
    registry,
    services: sv,
    callers: () => sv.callers,
    log: sv.log,
    metrics: sv.metrics,
    limiter: sv.publicLimiter,
  });
  const base = sv.config.basePath;

  const setCookie = (ctx: Koa.Context, value: string, maxAge: number) => {
    const secure = ctx.secure || sv.config.publicUrl.startsWith('https:') ? '; Secure' : '';
    ctx.set(
      'Set-Cookie',
      `${COOKIE}=${value}; Path=${base}/console; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure}`,
    );
  };
  const sessionOf = (ctx: Koa.Context): Caller | undefined => {
    const token = ctx.cookies.get(COOKIE);
    if (!token) return undefined;
    try {
      const caller = sv.callers.verify(`Bearer ${token}`);
      return caller.sub.startsWith('console:') ? caller : undefined;
    } catch {
      return undefined;
    }
  };
  /** the signed-in session whose CSRF token the request carries; otherwise a 401 / 403 answer */
  const writer = (ctx: Koa.Context): Caller | undefined => {
    const caller = sessionOf(ctx);
    const origin = ctx.get('origin');
    if (!caller) fail(ctx, 401, 'not signed in');
    // (Koa's ctx.origin is not this page's origin but the request's Origin header)
    else if (origin && origin !== `${ctx.protocol}://${ctx.host}`) fail(ctx, 403, 'cross-origin request');
    else if (!sv.consoleAuth.csrfMatches(caller, ctx.get('x-csrf-token') || undefined)) fail(ctx, 403, 'CSRF token');
    else return caller;
    return undefined;
  };
  const answer = (ctx: Koa.Context, s: ConsoleSession | Caller, csrf: string) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = {
      sub: s.sub,
      scope: s.scope,
      apps: s.apps ?? null,
      csrf,
      expiresAt: 'expiresAt' in s ? s.expiresAt : s.exp,
    };
  };

  const serve = (ctx: Koa.Context, file: string) => {
    const asset = assets.get(file);
    if (!asset) {
      ctx.status = 404;
      ctx.body = assets.size ? 'not found' : 'the console is not built: npm run build';
      return;
    }
    ctx.type = asset.type;
    ctx.set('Content-Security-Policy', CSP);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    // hashed asset names never change; the page itself is looked at every time
    ctx.set('Cache-Control', file.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    ctx.body = asset.body;
  };
  // (the router matches /console and /console/ alike)
  router.get('/console/', (ctx) =>
    ctx.path.endsWith('/') ? serve(ctx, 'index.html') : ctx.redirect(`${base}/console/`),
  );
  router.get('/console/assets/:file', (ctx) => serve(ctx, `assets/${ctx.params.file}`));

  router.post('/console/api/session', async (ctx) => {
    const retryAfter = sv.publicLimiter.take(ctx.ip);
    if (retryAfter > 0) {
      ctx.set('Retry-After', String(retryAfter));
      return fail(ctx, 429, 'too many attempts');
    }
    const body = await readJson(ctx);
    if (body === undefined) return;
    const { operator, password, token } = body;
    try {
      let session: ConsoleSession;
      if (typeof operator === 'string' && typeof password === 'string' && password.length <= 1024)
        session = await sv.consoleAuth.withPassword(operator, password);
      else if (typeof token === 'string' && token.length <= 4096) session = await sv.consoleAuth.withToken(token);
      else return fail(ctx, 400, 'operator and password, or token');
      setCookie(ctx, session.token, session.expiresAt - Math.floor(Date.now() / 1000));
      await recordAudit({ services: sv, caller: undefined, requestId: '', ip: ctx.ip, log: sv.log }, 'console.signin', {
        sub: session.sub,
      }).catch((err: unknown) => sv.log.error({ detail: (err as Error).message }, 'audit write failed'));
      answer(ctx, session, session.csrf);
    } catch (err) {
      if (!(err instanceof RpcError)) throw err;
      const who = typeof operator === 'string' ? operator.slice(0, 64) : undefined;
      sv.log.info({ ip: ctx.ip, operator: who }, 'console sign-in refused');
      if (err.code === Codes.RATE_LIMITED) return fail(ctx, 429, 'too many sign-ins at once');
      fail(ctx, err.code === 4003 ? 403 : 401, err.code === 4003 ? 'the token covers no admin interface' : 'refused');
    }
  });

  router.get('/console/api/session', (ctx) => {
    const caller = sessionOf(ctx);
    if (!caller) return fail(ctx, 401, 'not signed in');
    answer(ctx, caller, sv.consoleAuth.csrfOf(caller.jti!));
  });

  router.delete('/console/api/session', async (ctx) => {
    const caller = writer(ctx);
    if (!caller) return;
    await sv.consoleAuth.close(caller);
    setCookie(ctx, '', 0);
    ctx.status = 204;
  });

  router.post('/console/rpc', async (ctx) => {
    const caller = writer(ctx);
    if (!caller) return;
    const body = await readJson(ctx);
    if (body === undefined) return;
    ctx.req.headers.authorization = `Bearer ${ctx.cookies.get(COOKIE)!}`;
    ctx.set('Cache-Control', 'no-store');
    await dispatch(ctx, body);
  });
}

function fail(ctx: Koa.Context, status: number, error: string): void {
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { error };
}

/** the request's JSON object body, or undefined after a 400 / 413 answer */
async function readJson(ctx: Koa.Context): Promise<Record<string, unknown> | undefined> {
  try {
    const body: unknown = JSON.parse(await readBody(ctx.req, BODY_LIMIT));
    if (isObject(body)) return body;
  } catch (err) {
    if (err instanceof BodyError && err.status === 413) return void fail(ctx, 413, 'too large');
  }
  fail(ctx, 400, 'a JSON object');
  return undefined;
}
