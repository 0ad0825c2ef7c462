import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { captureChild, recordOutput } from './log-scan';

export const ROOT = path.resolve(__dirname, '../..');
const TSX = ['--require', require.resolve('tsx/cjs'), path.join(ROOT, 'index.ts')];

/** Runs the gatehouse CLI (from source) to completion with only the given GATEHOUSE_* env. */
export function cli(
  args: string[],
  env: Record<string, string>,
  cwd = ROOT,
): { status: number | null; stdout: string; stderr: string } {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GATEHOUSE_')));
  const r = spawnSync(process.execPath, [...TSX, ...args], {
    cwd,
    env: { ...clean, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  recordOutput(`cli-${args[0] ?? 'none'}`, r.stdout, r.stderr);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface ServeProcess {
  url: string;
  kill(signal?: NodeJS.Signals): void;
  exited: Promise<number | null>;
  output(): string;
}

/** Starts `gatehouse serve` as its own process and waits for /healthz. */
export async function serve(env: Record<string, string>, cwd = ROOT): Promise<ServeProcess> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GATEHOUSE_')));
  const child = spawn(process.execPath, [...TSX, 'serve'], {
    cwd,
    // no drain window unless a test asks for one (GATEHOUSE_DRAIN_MS: every stop would wait 5 s)
    env: { ...clean, GATEHOUSE_HOST: '127.0.0.1', GATEHOUSE_DRAIN_MS: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  captureChild(child, 'serve');
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const url = `http://127.0.0.1:${env.GATEHOUSE_PORT || '4236'}`;
  const deadline = Date.now() + 20_000;
  let done = false;
  void exited.then(() => (done = true));
  while (Date.now() < deadline && !done) {
    try {
      if ((await fetch(`${url}/healthz`)).ok)
        return { url, kill: (s) => child.kill(s ?? 'SIGTERM'), exited, output: () => out };
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`gatehouse did not become healthy: ${out}`);
}

// below the kernel's ephemeral range (32768–60999 here), where outgoing connections take their
// local ports: a port from there may be in use by any client socket of the test run
const PORT_LO = 10000;
const PORT_SPAN = 22000;
let nextPort = PORT_LO + ((process.pid * 97) % PORT_SPAN);
export function freePort(): string {
  nextPort = PORT_LO + ((nextPort - PORT_LO + 1) % PORT_SPAN);
  return String(nextPort);
}
