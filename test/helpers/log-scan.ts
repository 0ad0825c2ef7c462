import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ISSUED_SECRETS } from '../fake/platform';

/**
 * The log-leak scan. Every process a test starts writes its output into a file registered here:
 * the pino file of an in-process node (test/helpers/gatehouse.ts), and stdout + stderr of every
 * child process (`serve` / `cli` in test/helpers/cli.ts, test/helpers/node-proc.ts,
 * test/helpers/process-tree.ts). After the whole run, no registered file may hold anything a fake
 * issued (ISSUED_SECRETS: tokens, tickets, session keys, refresh tokens, permanent codes, auth
 * codes …) or anything shaped like one (SECRET_SHAPES).
 */

const LOG_FILES: string[] = [];

/** shapes of the credentials the fakes hand out (refresh tokens, permanent codes, codes, tickets) */
export const SECRET_SHAPES = [
  /refreshtoken@@@[0-9a-f]{24}/,
  /queryauthcode@@@[0-9a-f]{24}/,
  /preauthcode@@@[0-9a-f]{24}/,
  /\bpc_[0-9a-f]{32}\b/,
  /\bst_[0-9a-f]{24}\b/,
  /\bac_[0-9a-f]{24}\b/,
  /\bfn(at|rt)_\w+_[0-9a-f]{24}\b/,
  /\bssrt_[0-9a-f]{24}\b/,
  /\bfncode_[0-9a-f]{20}\b/,
  /\bssc_[0-9a-f]{20}\b/,
];

/** adds a file to the scan */
export function registerLog(file: string): void {
  if (!LOG_FILES.includes(file)) LOG_FILES.push(file);
}

/** takes a file out of the scan (a test that planted a secret on purpose) */
export function unregisterLog(file: string): void {
  const i = LOG_FILES.indexOf(file);
  if (i >= 0) LOG_FILES.splice(i, 1);
}

/** the files scanned after the run */
export function logFiles(): readonly string[] {
  return LOG_FILES;
}

/** a new, empty, registered file for one child process's output */
export function childLogFile(label: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gh-log-')), `${label.replace(/[^\w.-]+/g, '_')}.log`);
  fs.writeFileSync(file, '');
  registerLog(file);
  return file;
}

/**
 * Appends everything the child writes (stdout and stderr) to a new registered file as it arrives;
 * returns the file. Listeners of its own do not consume the streams: the caller's still see all.
 */
export function captureChild(child: ChildProcess, label: string): string {
  const file = childLogFile(label);
  const append = (d: Buffer | string) => fs.appendFileSync(file, d);
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  return file;
}

/** writes the output of a finished child (spawnSync) into a new registered file */
export function recordOutput(label: string, ...parts: Array<string | Buffer | null | undefined>): string {
  const file = childLogFile(label);
  for (const p of parts) if (p) fs.appendFileSync(file, p);
  return file;
}

// Secrets are found by their last WINDOW characters (the random part of every issued value):
// every WINDOW-long slice of the text is looked up in one map, so the scan is linear in the text
// and does not grow with the number of secrets. Shorter secrets are searched for directly.
const WINDOW = 12;

/** every (file, secret) found: a secret from `secrets` or a match of `shapes` in a file of `files` */
export function scanLogs(
  files: readonly string[] = LOG_FILES,
  secrets: Iterable<string> = ISSUED_SECRETS,
  shapes: readonly RegExp[] = SECRET_SHAPES,
): string[] {
  const byTail = new Map<string, string[]>();
  const short: string[] = [];
  for (const s of secrets) {
    for (const form of new Set([s, encodeURIComponent(s)])) {
      if (form.length < WINDOW) {
        if (form.length >= 6) short.push(form);
        continue;
      }
      const tail = form.slice(-WINDOW);
      byTail.set(tail, [...(byTail.get(tail) ?? []), form]);
    }
  }
  const leaks: string[] = [];
  const hint = (s: string) => `${s.slice(0, 6)}…`;
  for (const file of files) {
    if (!fs.existsSync(file)) continue;
    const text = fs.readFileSync(file, 'utf8');
    const found = new Set<string>();
    for (let end = WINDOW; end <= text.length; end++) {
      const candidates = byTail.get(text.slice(end - WINDOW, end));
      if (!candidates) continue;
      for (const c of candidates) if (end >= c.length && text.slice(end - c.length, end) === c) found.add(c);
    }
    for (const s of short) if (text.includes(s)) found.add(s);
    for (const s of found) leaks.push(`${file}: ${hint(s)}`);
    for (const shape of shapes) {
      const m = shape.exec(text);
      if (m) leaks.push(`${file}: ${shape} (${hint(m[0])})`);
    }
  }
  return leaks;
}

// After the whole run (a root hook, registered once by whichever test file loads this first).
if (typeof after === 'function') {
  after(function () {
    this.timeout(120_000);
    const leaks = scanLogs();
    if (leaks.length) throw new Error(`secrets in the logs (${leaks.length}): ${leaks.slice(0, 10).join(', ')}`);
  });
}
