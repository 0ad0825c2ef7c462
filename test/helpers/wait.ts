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
