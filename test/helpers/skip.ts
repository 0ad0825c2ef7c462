import fs from 'node:fs';

/**
 * Skips that say why (issue 11 item 5).
 *
 * `skipBecause(this, reason)` skips the running test (or, from a `before` hook, its suite) with the
 * reason appended to the title mocha prints, and appends one JSON line {title, reason, fixable,
 * tests: how many tests it made pending} to the file named by TEST_SKIPS_FILE (set by .ci/run,
 * which prints every line in its closing summary and fails on the fixable ones, and on pending
 * tests no line accounts for). A `fixable` skip is one that installing something would turn into
 * a run (Chromium, MariaDB, a tool on PATH): under CI it is not skipped but fails.
 */

/** whether CI is set to anything truthy (CI=true, CI=1, CI=yes …; not "", "0", "false", "no", "off") */
export function inCi(...given: [] | [string | undefined]): boolean {
  // inCi() reads the environment; inCi(undefined) asks about CI being unset
  const value = given.length > 0 ? given[0] : process.env.CI;
  return value !== undefined && !/^(|0|false|no|off)$/i.test(value.trim());
}

export interface SkipOptions {
  /** what to install so that the test runs instead (a skip CI could fix: fails under CI) */
  fixable?: string;
  /** a skip CI must not take even though nothing can be installed (fails under CI) */
  failInCi?: boolean;
}

export function skipBecause(ctx: Mocha.Context, reason: string, opts: SkipOptions = {}): never {
  // the running test, or the hook (whose skip makes its suite's tests pending)
  const runnable = ctx.test;
  const hook = (runnable as { type?: string } | undefined)?.type === 'hook';
  const title = hook ? (runnable?.parent?.fullTitle() ?? '') : (runnable?.fullTitle() ?? '');
  const why = opts.fixable ? `${reason} (install ${opts.fixable})` : reason;
  if (inCi() && (opts.fixable || opts.failInCi)) throw new Error(`not skipped under CI=${process.env.CI}: ${why}`);
  // the reason in the line mocha prints for each pending test (from a hook: every test of the suite)
  const mark = (t: Mocha.Runnable) => (t.title += ` (skipped: ${why})`);
  const all = (s: Mocha.Suite): Mocha.Test[] => [...s.tests, ...s.suites.flatMap(all)];
  const file = process.env.TEST_SKIPS_FILE;
  const tests = hook ? (runnable?.parent ? all(runnable.parent).length : 0) : 1;
  if (file)
    fs.appendFileSync(file, `${JSON.stringify({ title, reason: why, fixable: opts.fixable ?? null, tests })}\n`);
  if (runnable && !hook) mark(runnable);
  else if (runnable?.parent) all(runnable.parent).forEach(mark);
  ctx.skip();
  throw new Error('unreachable'); // ctx.skip() throws
}
