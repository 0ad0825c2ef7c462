/**
 * Garbage collection in a measured window, from the server's own metrics (prom-client's default
 * `gatehouse_nodejs_gc_duration_seconds`, per kind): how much of the window the server spent in GC
 * pauses and how many full (mark-compact) collections it ran. A gatehouse only (bare Koa and the
 * plain proxy expose no metrics).
 */
export interface GcTotals {
  /** seconds in GC pauses, all kinds */
  seconds: number;
  /** mark-compact collections */
  major: number;
  /** scavenges */
  minor: number;
  /** the JS heap in use, its old space, and the memory outside it that V8 is told of (Buffers), in bytes */
  heapUsed?: number;
  oldUsed?: number;
  external?: number;
}

export interface GcWindow {
  /** GC pauses as a share of the window's wall time, in % */
  sharePct: number;
  major: number;
  minor: number;
  /** at the window's end, in MB */
  heapMb?: number;
  oldMb?: number;
  externalMb?: number;
}

const LINE = /^gatehouse_nodejs_gc_duration_seconds_(sum|count)\{kind="(\w+)"\} (\S+)$/;

const GAUGE =
  /^gatehouse_nodejs_(heap_size_used_bytes|heap_space_size_used_bytes\{space="old"\}|external_memory_bytes) (\S+)$/;
const mb = (b: number | undefined) => (b === undefined ? undefined : Math.round(b / 104857.6) / 10);

/** the totals in a Prometheus text exposition (undefined when it has no GC histogram) */
export function parseGcTotals(text: string): GcTotals | undefined {
  const t: GcTotals = { seconds: 0, major: 0, minor: 0 };
  let seen = false;
  for (const line of text.split('\n')) {
    const g = GAUGE.exec(line);
    if (g) {
      if (g[1] === 'heap_size_used_bytes') t.heapUsed = Number(g[2]);
      else if (g[1] === 'heap_space_size_used_bytes{space="old"}') t.oldUsed = Number(g[2]);
      else t.external = Number(g[2]);
      continue;
    }
    const m = LINE.exec(line);
    if (!m) continue;
    seen = true;
    const v = Number(m[3]);
    if (m[1] === 'sum') t.seconds += v;
    else if (m[2] === 'major') t.major += v;
    else if (m[2] === 'minor') t.minor += v;
  }
  return seen ? t : undefined;
}

/** the server's totals now (undefined when it serves no metrics) */
export async function gcTotals(url: string): Promise<GcTotals | undefined> {
  try {
    const res = await fetch(`${url}/metrics`);
    return res.ok ? parseGcTotals(await res.text()) : undefined;
  } catch {
    return undefined;
  }
}

/** what happened between two readings `wallMs` apart */
export function gcWindow(
  before: GcTotals | undefined,
  after: GcTotals | undefined,
  wallMs: number,
): GcWindow | undefined {
  if (!before || !after || wallMs <= 0) return undefined;
  return {
    sharePct: ((after.seconds - before.seconds) * 1000 * 100) / wallMs,
    major: after.major - before.major,
    minor: after.minor - before.minor,
    heapMb: mb(after.heapUsed),
    oldMb: mb(after.oldUsed),
    externalMb: mb(after.external),
  };
}

/**
 * one line per row that has a window: "scenario: 3.1 % of the time in GC pauses, 2 full (mark-compact),
 * 340 scavenges; then heap 31.2 MB (old space 24.0), external 3.1 MB"
 */
export function gcLines(rows: { scenario: string; gc?: GcWindow }[]): string[] {
  return rows
    .filter((r) => r.gc)
    .map(
      (r) =>
        `  ${r.scenario.replace(/\s+/g, ' ')}: ${r.gc!.sharePct.toFixed(1)} % of the time in GC pauses, ` +
        `${r.gc!.major} full (mark-compact), ${r.gc!.minor} scavenges` +
        (r.gc!.heapMb === undefined
          ? ''
          : `; then heap ${r.gc!.heapMb} MB (old space ${r.gc!.oldMb ?? '?'}), external ${r.gc!.externalMb ?? '?'} MB`),
    );
}
