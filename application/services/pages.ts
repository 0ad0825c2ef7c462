/** Small HTML pages for the authorization flows (no templates, everything escaped). */

import type Koa from 'koa';
import { RpcError, httpStatusOf } from '../../system/errors';
import type { Logger } from '../../system/log';
import type { RateLimiter } from '../../system/ratelimit';
import type { AuthStateRow } from '../../db/store';
import type { AppConfig } from './apps';
import type { AuthStates } from './auth-states';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const page = (title: string, body: string, head = '') => `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title>${head}
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}
a.button{display:inline-block;padding:.6rem 1.2rem;background:#07c160;color:#fff;border-radius:4px;
text-decoration:none}</style>
</head><body>${body}</body></html>`;

/**
 * A page that sends the browser on to a platform's authorization page. WeChat checks that the
 * authorization page is opened from a page of the registered domain, hence a real page with a
 * link (and a script that follows it) rather than a bare 302.
 */
export function forwardPage(title: string, url: string): string {
  const href = escapeHtml(url);
  return page(
    title,
    `<h1>${escapeHtml(title)}</h1><p><a class="button" id="go" href="${href}">继续 / Continue</a></p>
<script>location.replace(document.getElementById('go').href);</script>`,
  );
}

/** shown after an authorization when no redirectUrl is configured */
export function successPage(title: string, detail: string): string {
  return page(title, `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(detail)}</p>`);
}

/** appends the query of the incoming request to a redirect URL */
export function withQuery(url: string, query: Record<string, unknown>): string {
  const u = new URL(url);
  for (const [k, v] of Object.entries(query)) {
    if (typeof v === 'string') u.searchParams.set(k, v);
    else if (Array.isArray(v)) for (const x of v) if (typeof x === 'string') u.searchParams.append(k, x);
  }
  return u.toString();
}

/** a small HTML answer of a public page route (a title and a line), never cached */
export function htmlPage(ctx: Koa.Context, status: number, title: string, detail: string): void {
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = successPage(title, detail);
}

/** 200: the page that sends the browser on to the platform's authorization page, never cached */
export function forwardTo(ctx: Koa.Context, title: string, target: string): void {
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = forwardPage(title, target);
}

/**
 * The authorization code a platform sent the browser back with (query `param`, at most 512
 * characters), or undefined after a 400 page saying what this page is (`back`: "WeChat sends the
 * administrator back").
 */
export function returnedCode(ctx: Koa.Context, param: string, back: string): string | undefined {
  const code = (ctx.query as Record<string, unknown>)[param];
  if (typeof code === 'string' && code && code.length <= 512) return code;
  htmlPage(ctx, 400, `缺少授权码 / Missing ${param}`, `This page is where ${back} after authorizing.`);
  return undefined;
}

/**
 * What a platform sent the browser back with after an authorization: the code (query `param`) and
 * the state, a live nonce that this app's page issued, consumed here before anything is exchanged
 * (unknown, used, expired or another app's → nothing happens). Otherwise undefined, after a 400 page.
 */
export async function returnedAuthorization(
  ctx: Koa.Context,
  states: AuthStates,
  app: AppConfig,
  param: string,
  back: string,
): Promise<{ code: string; issued: AuthStateRow } | undefined> {
  const code = returnedCode(ctx, param, back);
  if (!code) return undefined;
  const issued = await states.take(ctx.query.state, { platform: app.platform, codeName: app.codeName });
  if (issued) return { code, issued };
  badStatePage(ctx);
  return undefined;
}

/**
 * The end of an authorization: on to the app's redirectUrl with `query` when it has one, otherwise
 * a success page (`title`, `detail`); never cached.
 */
export function authorizedPage(
  ctx: Koa.Context,
  app: AppConfig,
  query: Record<string, unknown>,
  title: string,
  detail: string,
): void {
  const redirect = app.config.redirectUrl;
  if (typeof redirect !== 'string' || !redirect) return htmlPage(ctx, 200, title, detail);
  ctx.set('Cache-Control', 'no-store');
  ctx.redirect(withQuery(redirect, query));
}

/** 400: the redirect or callback did not carry a live state nonce of this flow (nothing was exchanged) */
export function badStatePage(ctx: Koa.Context): void {
  htmlPage(
    ctx,
    400,
    '授权链接无效或已过期 / Invalid or expired authorization',
    'This authorization was not started here, was already completed, or is more than 10 minutes old. Please ' +
      'start the authorization again.',
  );
}

/**
 * The public per-IP rate limit (GATEHOUSE_PUBLIC_RATE_LIMIT, the limiter public RPC interfaces
 * use) in front of a public page route: over the limit → 429, Retry-After, a small HTML page.
 */
export function pageRateLimit(limiter: RateLimiter): Koa.Middleware {
  return async (ctx, next) => {
    const retryAfter = limiter.take(ctx.ip);
    if (retryAfter > 0) {
      ctx.set('Retry-After', String(retryAfter));
      htmlPage(ctx, 429, '请求过于频繁 / Too many requests', `Please try again in ${retryAfter} s.`);
      return;
    }
    await next();
  };
}

/**
 * The page of a failed authorization step, its status by httpStatusOf (503 while the platform is not
 * ready (1014) or the store fails, else 502);
 * an error that is not an RpcError is logged (`<what> failed`), and so, with `warnRefused`, is one that is.
 */
export function failurePage(
  ctx: Koa.Context,
  log: Logger,
  err: unknown,
  what: string,
  page: { title: string; detail: (e: RpcError | undefined) => string; warnRefused?: boolean },
): void {
  const e = err instanceof RpcError ? err : undefined;
  if (!e) log.error({ path: ctx.path, err }, `${what} failed`);
  else if (page.warnRefused) log.warn({ path: ctx.path, code: e.code, detail: e.detail }, `${what} failed`);
  htmlPage(ctx, e ? httpStatusOf(e) : 502, page.title, page.detail(e));
}
