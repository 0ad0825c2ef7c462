import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './cli';
import { captureChild } from './log-scan';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** every descendant of pid (from /proc), depth first */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch {
      /* gone */
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

export const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return fs.existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
};

export interface Started {
  child: ChildProcess;
  url: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  output: () => string;
}

/**
 * starts cmd in its own process group (so a test can clean up whatever is left) and waits for /healthz on
 * GATEHOUSE_PORT
 */
export async function launch(cmd: string, args: string[], env: Record<string, string>): Promise<Started> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('GATEHOUSE_') && !k.startsWith('npm_')),
  );
  // its own process group, so that the test can clean up whatever is left
  const child = spawn(cmd, args, {
    cwd: ROOT,
    env: { ...clean, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  captureChild(child, `launch-${path.basename(cmd)}`);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((r) =>
    child.on('exit', (code, signal) => r({ code, signal, at: Date.now() })),
  );
  let done = false;
  void exited.then(() => (done = true));
  const url = `http://127.0.0.1:${env.GATEHOUSE_PORT}`;
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline && !done) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { child, url, exited, output: () => out };
    } catch {
      /* not yet */
    }
    await sleep(200);
  }
  throw new Error(`did not become healthy: ${out}`);
}

/** the pids still alive once they have all gone, or `ms` has passed (a loaded machine may take a while to reap) */
export async function stillAlive(pids: number[], ms = 5000): Promise<number[]> {
  const deadline = Date.now() + ms;
  while (pids.some(alive) && Date.now() < deadline) await sleep(20);
  return pids.filter(alive);
}
