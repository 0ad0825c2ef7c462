import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, type ServeProcess } from './cli';
import { captureChild } from './log-scan';

const TSX = ['--require', require.resolve('tsx/cjs'), path.join(ROOT, 'index.ts')];

export interface NodeProcess extends ServeProcess {
  pid: number;
  port: number;
  /** whether the process is still alive */
  alive(): boolean;
  /** resident set size in bytes (VmRSS of /proc/<pid>/status), undefined once it has exited */
  rss(): number | undefined;
}

/**
 * Like cli.ts `serve()` (a real `gatehouse serve` process from source, waited on until /healthz
 * answers), but exposes the child's pid so a test can kill -9 it or read its memory.
 */
export async function serveNode(env: Record<string, string>, port: number): Promise<NodeProcess> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GATEHOUSE_')));
  const child = spawn(process.execPath, [...TSX, 'serve'], {
    cwd: ROOT,
    // no drain window unless a test asks for one (GATEHOUSE_DRAIN_MS: every stop would wait 5 s)
    env: { ...clean, GATEHOUSE_HOST: '127.0.0.1', GATEHOUSE_DRAIN_MS: '0', ...env, GATEHOUSE_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  captureChild(child, `node-${port}`);
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 2_000_000) out = out.slice(-1_000_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let done = false;
  const exited = new Promise<number | null>((r) =>
    child.on('exit', (code) => {
      done = true;
      r(code);
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const proc: NodeProcess = {
    url,
    port,
    pid: child.pid!,
    kill: (s) => {
      if (!done) child.kill(s ?? 'SIGTERM');
    },
    exited,
    output: () => out,
    alive: () => !done,
    rss: () => {
      try {
        const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        return m ? Number(m[1]) * 1024 : undefined;
      } catch {
        return undefined;
      }
    },
  };
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && !done) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return proc;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`gatehouse did not become healthy: ${out}`);
}
