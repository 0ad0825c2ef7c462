/**
 * Waits for a condition (a positive signal), polling every 20 ms; fails naming `what` after `ms`.
 * The one polling loop of the suite: a test waits for what it expects to happen, never a fixed time.
 */
export async function until(cond: () => boolean | Promise<boolean>, what = 'a condition', ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Runs `burst` within one wall-clock second, the fixed window of the public per-IP rate limiter: it
 * starts just after a second begins, and a burst that ran past the end of that second (a loaded
 * machine) is run again, up to five times. `burst(attempt)` should use client addresses of its own
 * per attempt (an earlier attempt has spent the limit of its addresses) and assert nothing itself:
 * the caller judges what the burst within one window returned.
 */
export async function inOneSecond<T>(burst: (attempt: number) => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 5));
    const second = Math.floor(Date.now() / 1000);
    const result = await burst(attempt);
    if (Math.floor(Date.now() / 1000) === second || attempt === 4) return result;
  }
}
