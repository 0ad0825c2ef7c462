import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Child processes of the benchmark and everything that must be undone when it ends.
 *
 * Every child is tracked from spawn to exit. `teardown()` runs the registered clean-up steps
 * (newest first: stop the servers, then drop their databases) and stops whatever child is left;
 * a last-resort `exit` hook SIGKILLs anything still alive, so no server outlives the benchmark —
 * not on success, not on an exception, not on Ctrl-C.
 */

const live = new Set<ChildProcess>();
const steps: Array<{ what: string; fn: () => Promise<void> }> = [];

process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export interface Child {
  name: string;
  proc: ChildProcess;
  /** resolves with the exit code (or the signal's name) once the process has ended */
  exited: Promise<number | string>;
  /** whether the process has ended */
  done(): boolean;
  /** stdout and stderr interleaved; only the last `maxOutput` characters when that is set */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone */
  stop(graceMs?: number): Promise<void>;
}

export interface ChildOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** keep only this many trailing characters of output (servers can log a lot under load) */
  maxOutput?: number;
  /** stdout only, without stderr (for children that print a result on stdout) */
  stdoutOnly?: boolean;
}

/** Runs `node <args>` as a tracked child process. */
export function startChild(name: string, args: string[], opts: ChildOptions): Child {
  const proc = spawn(process.execPath, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  // BENCH_CHILD_LOGS=<dir>: every child's whole output in a file of its own (node flags such as
  // --trace-gc through BENCH_NODE_ARGS print there)
  const logs = process.env.BENCH_CHILD_LOGS;
  if (logs) {
    fs.mkdirSync(logs, { recursive: true });
    const file = fs.createWriteStream(path.join(logs, `${name.replace(/[^\w.-]+/g, '_')}-${proc.pid}.log`));
    proc.stdout!.pipe(file);
    proc.stderr!.pipe(file);
  }
  let out = '';
  let err = '';
  const keep = (s: string) => (opts.maxOutput && s.length > opts.maxOutput ? s.slice(-opts.maxOutput) : s);
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out = keep(out + d)));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
    if (opts.stdoutOnly) err = keep(err + d);
    else out = keep(out + d);
  });
  let ended = false;
  const exited = new Promise<number | string>((resolve) => {
    proc.once('error', (e) => {
      out = keep(`${out}\n${name}: ${e.message}`);
    });
    proc.once('close', (code, signal) => {
      ended = true;
      live.delete(proc);
      resolve(code ?? signal ?? 'unknown');
    });
  });
  return {
    name,
    proc,
    exited,
    done: () => ended,
    output: () => (opts.stdoutOnly ? `${out}${err ? `\n[stderr]\n${err}` : ''}` : out),
    async stop(graceMs = 10_000) {
      if (ended) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Registers a clean-up step for `teardown()`. Returns a function that runs it early (once). */
export function onTeardown(what: string, fn: () => Promise<void>): () => Promise<void> {
  let ran: Promise<void> | undefined;
  const step = { what, fn: () => (ran ??= fn()) };
  steps.push(step);
  return async () => {
    const i = steps.indexOf(step);
    if (i >= 0) steps.splice(i, 1);
    await step.fn();
  };
}

/** Runs every pending clean-up step (newest first), then stops any child still alive. */
export async function teardown(): Promise<void> {
  while (steps.length) {
    const step = steps.pop()!;
    try {
      await step.fn();
    } catch (err) {
      process.stderr.write(`bench: clean-up "${step.what}" failed: ${(err as Error).message}\n`);
    }
  }
  await Promise.all(
    [...live].map(
      (p) =>
        new Promise<void>((resolve) => {
          p.once('close', () => resolve());
          p.kill('SIGKILL');
        }),
    ),
  );
}
