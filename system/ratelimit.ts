/**
 * Per-client fixed one-second windows (GATEHOUSE_PUBLIC_RATE_LIMIT calls per second per IP).
 * Memory is bounded: idle clients are swept, and the table is capped.
 */
export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();
  private lastSweep = 0;
  private static readonly MAX_CLIENTS = 100_000;

  constructor(private readonly perSecond: number) {}

  /** 0 when the call may go ahead, else the seconds to wait */
  take(client: string, now = Date.now()): number {
    if (this.perSecond <= 0) return 0;
    const second = Math.floor(now / 1000) * 1000;
    if (now - this.lastSweep > 10_000 || this.windows.size > RateLimiter.MAX_CLIENTS) this.sweep(second);
    const w = this.windows.get(client);
    if (!w || w.start !== second) {
      this.windows.set(client, { start: second, count: 1 });
      return 0;
    }
    if (w.count >= this.perSecond) return Math.max(1, Math.ceil((second + 1000 - now) / 1000));
    w.count++;
    return 0;
  }

  private sweep(second: number): void {
    this.lastSweep = Date.now();
    for (const [k, w] of this.windows) if (w.start < second) this.windows.delete(k);
    if (this.windows.size > RateLimiter.MAX_CLIENTS) this.windows.clear();
  }
}
