/** Small HTML pages for the authorization flows (no templates, everything escaped). */

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const page = (title: string, body: string, head = '') => `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title>${head}
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}a.button{display:inline-block;padding:.6rem 1.2rem;background:#07c160;color:#fff;border-radius:4px;text-decoration:none}</style>
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
