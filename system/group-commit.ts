/**
 * Group commit: callers each hand over one row and wait until it is committed, but the rows handed
 * over while a write is in flight — or in the same turn of the event loop — are written together,
 * in one statement. Under load this turns N round trips and N commits into one; an idle node writes
 * each row alone, at once (the first write waits only for the current turn of the event loop).
 *
 * A caller's promise settles when the write holding its row has committed (or failed: then every
 * row of that write fails with the same error, and the next write is tried for the rows behind).
 */
export class GroupCommit<T> {
  private queue: Array<{ row: T; done: (err?: unknown) => void }> = [];
  private writing = false;
  private scheduled = false;

  constructor(
    private readonly write: (rows: T[]) => Promise<void>,
    /** at most this many rows per write */
    private readonly maxRows = 64,
  ) {}

  /** resolves once `row` is committed */
  add(row: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ row, done: (err) => (err === undefined ? resolve() : reject(err)) });
      if (!this.writing && !this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  /** rows waiting for a write (not yet handed to one) */
  get waiting(): number {
    return this.queue.length;
  }

  private async drain(): Promise<void> {
    this.scheduled = false;
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxRows);
        let failure: unknown;
        try {
          await this.write(batch.map((b) => b.row));
        } catch (err) {
          failure = err ?? new Error('write failed');
        }
        for (const b of batch) b.done(failure);
      }
    } finally {
      this.writing = false;
    }
  }
}
