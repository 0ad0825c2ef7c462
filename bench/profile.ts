import fs from 'node:fs';
import path from 'node:path';
import { REPO } from './targets';

/**
 * Where a server's CPU went, from the V8 `.cpuprofile` files that `node --cpu-prof` writes on exit.
 *
 * Samples can be restricted to time windows (the load phases, measured in the bench process with
 * process.hrtime — the same monotonic clock V8 stamps its profiles with on Linux), so start-up
 * (tsx compiling the sources) and idle gaps do not blur the picture. Time is reported as
 * self time per origin (a repository file, a package, Node's internals, GC) and per function, and as
 * inclusive time for the repository's own functions.
 *
 * Caveat: V8 takes a sample when the thread next runs, so time the thread spent descheduled lands on
 * the frame that made the last system call (writev, SQLite's file locks). On a busy 2-core machine
 * this over-weights those frames; `perf record` with `--perf-basic-prof` gives exact shares.
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** a time window in microseconds of the monotonic clock */
export interface Window {
  label: string;
  fromUs: number;
  toUs: number;
}

export const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

function origin(f: CallFrame): string {
  if (SPECIAL.has(f.functionName) && !f.url) return f.functionName;
  const url = f.url.replace(/^file:\/\//, '');
  if (!url) return '(native / V8 builtins)';
  if (url.startsWith('node:'))
    return (
      'node:' +
      url
        .slice(5)
        .replace(/^internal\//, '')
        .split('/')[0]
    );
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + 14).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  return url.startsWith(REPO) ? path.relative(REPO, url) : url;
}

/** name and origin; line numbers only outside the repository (tsx's transpiled .ts keeps none worth showing) */
const fnKey = (f: CallFrame) =>
  `${f.functionName || '(anonymous)'}  ${origin(f)}${f.url && !SPECIAL.has(f.functionName) && !f.url.endsWith('.ts') ? `:${f.lineNumber + 1}` : ''}`;

const own = (f: CallFrame) => {
  const url = f.url.replace(/^file:\/\//, '');
  return url.startsWith(REPO) && !url.includes('/node_modules/');
};

function top(m: Map<string, number>, total: number, n: number): string[] {
  return [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(
      ([k, us]) =>
        `    ${((us / total) * 100).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`,
    );
}

/** one summary per window (or one for the whole profile when no window is given) */
export function summarizeProfiles(dir: string, windows: Window[] = [], n = 15): string {
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')) : [];
  if (!files.length) return `  (no .cpuprofile in ${dir}: did the server exit cleanly?)`;
  const out: string[] = [];
  for (const file of files) {
    const p = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as CpuProfile;
    const byId = new Map(p.nodes.map((nd) => [nd.id, nd]));
    const parent = new Map<number, number>();
    for (const nd of p.nodes) for (const c of nd.children ?? []) parent.set(c, nd.id);
    const inWindows = windows.filter((w) => w.toUs > p.startTime && w.fromUs < p.endTime);
    const spans = inWindows.length
      ? inWindows
      : [{ label: 'whole process lifetime', fromUs: p.startTime, toUs: p.endTime }];
    if (windows.length && !inWindows.length)
      out.push(`  (the load windows do not overlap ${file}; showing the whole process)`);
    for (const w of spans) {
      const self = new Map<string, number>();
      const byOrigin = new Map<string, number>();
      const inclusive = new Map<string, number>();
      let total = 0;
      let idle = 0;
      let t = p.startTime;
      for (let i = 0; i < p.samples.length; i++) {
        t += p.timeDeltas[i];
        const dt = p.timeDeltas[i + 1] ?? 0; // a sample stands for the time until the next one
        if (t < w.fromUs || t >= w.toUs) continue;
        const nd = byId.get(p.samples[i])!;
        if (nd.callFrame.functionName === '(idle)') {
          idle += dt;
          continue;
        }
        total += dt;
        self.set(fnKey(nd.callFrame), (self.get(fnKey(nd.callFrame)) ?? 0) + dt);
        byOrigin.set(origin(nd.callFrame), (byOrigin.get(origin(nd.callFrame)) ?? 0) + dt);
        const seen = new Set<string>();
        for (let id: number | undefined = nd.id; id !== undefined; id = parent.get(id)) {
          const f = byId.get(id)!.callFrame;
          if (!own(f)) continue;
          const k = fnKey(f);
          if (seen.has(k)) continue;
          seen.add(k);
          inclusive.set(k, (inclusive.get(k) ?? 0) + dt);
        }
      }
      const wall = w.toUs - w.fromUs;
      out.push(
        `  [${w.label}] ${(wall / 1e6).toFixed(1)} s wall, ${(total / 1e6).toFixed(1)} s on CPU in JS/GC/native (${((total / wall) * 100).toFixed(0)} %), ${(idle / 1e6).toFixed(1)} s idle`,
      );
      if (!total) continue;
      out.push('   self time by origin:', ...top(byOrigin, total, 12));
      out.push('   self time by function:', ...top(self, total, n));
      out.push('   inclusive time, repository functions:', ...top(inclusive, total, n));
    }
  }
  out.push(
    '  (V8 samples over-weight frames that make system calls — writev, SQLite — when the CPUs are contended; see bench/profile.ts)',
  );
  return out.join('\n');
}
