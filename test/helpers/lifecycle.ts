import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './cli';
import { captureChild } from './log-scan';

const TSX = ['--require', require.resolve('tsx/cjs'), path.join(ROOT, 'index.ts')];

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** epoch ms */
  at: number;
}

export interface Proc {
  child: ChildProcess;
  pid: number;
  /** http://127.0.0.1:<port> (without any base path) */
  url: string;
  kill(signal?: NodeJS.Signals): void;
  exited: Promise<Exit>;
  alive(): boolean;
  output(): string;
}

/**
 * Starts a process (`gatehouse serve` from source unless `cmd` says otherwise) with only the given
 * GATEHOUSE_* variables, and waits until `url + readyPath` answers 200 (default `/readyz`; a node
 * under a base path answers it there). The process's exit code and signal are kept.
 */
export async function spawnServe(
  env: Record<string, string>,
  opts: { readyPath?: string; cmd?: string; args?: string[]; cwd?: string; port?: string } = {},
): Promise<Proc> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('GATEHOUSE_') && !k.startsWith('npm_') && k !== 'PORT'),
  );
  const child = spawn(opts.cmd ?? process.execPath, opts.args ?? [...TSX, 'serve'], {
    cwd: opts.cwd ?? ROOT,
    env: { ...clean, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  captureChild(child, `lifecycle-${env.GATEHOUSE_PORT ?? opts.port ?? 'serve'}`);
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 2_000_000) out = out.slice(-1_000_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let done = false;
  const exited = new Promise<Exit>((r) =>
    child.on('exit', (code, signal) => {
      done = true;
      r({ code, signal, at: Date.now() });
    }),
  );
  const port = opts.port ?? env.GATEHOUSE_PORT;
  const url = `http://127.0.0.1:${port}`;
  const proc: Proc = {
    child,
    pid: child.pid!,
    url,
    kill: (s) => {
      if (!done) child.kill(s ?? 'SIGTERM');
    },
    exited,
    alive: () => !done,
    output: () => out,
  };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && !done) {
    try {
      if ((await fetch(`${url}${opts.readyPath ?? '/readyz'}`)).status === 200) return proc;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`gatehouse did not become ready: ${out}`);
}

/** the JSON log lines of a process's output (other lines skipped) */
export function logLines(out: string): Record<string, unknown>[] {
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

/** whether a fetch failed to connect or lost its connection (refused, reset, closed by the other side) */
export function connectionError(err: unknown): boolean {
  const e = err as { cause?: { code?: string; message?: string } };
  const code = e?.cause?.code ?? '';
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED'].includes(code) ||
    /other side closed/i.test(e?.cause?.message ?? '')
  );
}
