import fs from 'node:fs';

/**
 * CPU accounting from /proc (Linux). Throughput on a small machine depends on how its cores are
 * shared — with the load generator, with a database, with whatever else runs — so the bench also
 * reports CPU time per request, and says when something else was busy before it started.
 */

/** USER_HZ: 100 on every mainstream Linux build */
const CLOCK_TICKS = 100;

/** CPU time (user + system, µs) a process has used so far; undefined where there is no /proc */
export function cpuTimeUs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
    return Number.isFinite(ticks) ? (ticks * 1e6) / CLOCK_TICKS : undefined;
  } catch {
    return undefined;
  }
}

/** [busy, total] jiffies of all CPUs together */
function cpuJiffies(): [number, number] | undefined {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const v = line.trim().split(/\s+/).slice(1, 9).map(Number); // user nice system idle iowait irq softirq steal
    const idle = v[3] + v[4];
    const total = v.reduce((a, b) => a + b, 0);
    return [total - idle, total];
  } catch {
    return undefined;
  }
}

/** share of the machine's CPU capacity (0…1) in use by anyone during the next `ms` */
export async function machineBusy(ms = 1000): Promise<number | undefined> {
  const a = cpuJiffies();
  await new Promise((r) => setTimeout(r, ms));
  const b = cpuJiffies();
  if (!a || !b || b[1] === a[1]) return undefined;
  return (b[0] - a[0]) / (b[1] - a[1]);
}

/** a process's resident set size in bytes (VmRSS in /proc/<pid>/status); undefined where there is no /proc */
export function rssBytes(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
