// npm run mutate [group …]: mutation testing (StrykerJS) of the modules where a silent bug costs
// most, one group at a time — each group's modules against the suites that test them, so that a
// mutant runs only the tests that cover it (per-test coverage). Incremental: the last run's
// results are kept in .ci/mutation/<group>.json (committed), and a run tests again only the mutants
// whose code or covering tests changed since — a full run takes about half an hour here, more than
// CI's step may. MUTATE_FULL=1 tests every mutant again. Each group writes
// reports/mutation/<group>.json; .ci/mutation-score.mjs reads them all.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { Stryker } from '@stryker-mutator/core';

export const GROUPS = {
  engine: {
    mutate: ['application/services/tokens/engine.ts', 'application/services/tokens/spec.ts'],
    spec: ['test/application/engine.test.ts', 'test/application/token-spec.test.ts'],
  },
  callers: {
    mutate: ['system/callers.ts', 'application/claims.ts'],
    spec: ['test/system/caller-auth.test.ts', 'test/system/callers.test.ts', 'test/security/claims.test.ts'],
  },
  envelope: {
    mutate: ['system/rpc.ts', 'system/registry.ts'],
    spec: ['test/system/dispatch.test.ts', 'test/system/rpc.test.ts'],
  },
  crypto: {
    mutate: [
      'application/services/crypto/*.ts',
      'application/platforms/fengniao/sign.ts',
      'application/platforms/shansong/sign.ts',
    ],
    spec: [
      'test/application/crypto-edges.test.ts',
      'test/application/crypto.test.ts',
      'test/application/msgcrypt.test.ts',
      'test/application/cos.test.ts',
      'test/application/fengniao.test.ts',
      'test/application/shansong.test.ts',
      'test/application/tokens.test.ts',
    ],
  },
  pushes: {
    mutate: ['application/services/pushes.ts'],
    spec: [
      'test/application/pushes-units.test.ts',
      'test/application/wechat-tp.test.ts',
      'test/application/wecom-tp.test.ts',
      'test/security/callbacks.test.ts',
    ],
  },
};

const names = process.argv.slice(2);
for (const n of names)
  if (!(n in GROUPS)) throw new Error(`unknown group ${n}; groups: ${Object.keys(GROUPS).join(', ')}`);
for (const name of names.length ? names : Object.keys(GROUPS)) {
  const g = GROUPS[name];
  const fileName = `reports/mutation/${name}.json`;
  fs.rmSync(fileName, { force: true });
  const started = Date.now();
  console.log(`[mutate] ${name}: ${g.mutate.join(' ')} ← ${g.spec.length} suites`);
  await new Stryker({
    configFile: '.ci/stryker.config.json',
    mutate: g.mutate,
    mochaOptions: { spec: g.spec },
    jsonReporter: { fileName },
    tempDirName: `.stryker-tmp/${name}`,
    incremental: true,
    incrementalFile: `.ci/mutation/${name}.json`,
    force: process.env.MUTATE_FULL === '1',
  }).runMutationTest();
  console.log(`[mutate] ${name}: ${Math.round((Date.now() - started) / 1000)} s`);
}
// the score per module over every group's report; fails under the thresholds
process.exit(spawnSync(process.execPath, ['.ci/mutation-score.mjs'], { stdio: 'inherit' }).status ?? 1);
