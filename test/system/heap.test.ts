import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';
import { HEAP_FLAGS, HEAP_GROWING_PERCENT, tuneHeap } from '../../system/heap';

const churn = (mode: string) => {
  const out = execFileSync(
    process.execPath,
    ['--require', 'tsx/cjs', path.join(__dirname, '../fixtures/heap-churn.ts'), mode],
    { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } },
  );
  return Number(out.split(' ')[0]);
};

describe('tuneHeap: the old generation grows 25 % past what survives, no pretenuring; set when serve starts', function () {
  this.timeout(60_000);

  it('sets both flags; an operator’s own flag of either name wins (node flag or NODE_OPTIONS, - or _, no- or not)', () => {
    const set: string[] = [];
    const tune = (argv: string[], options: string) => {
      set.length = 0;
      const applied = tuneHeap(argv, options, (f) => set.push(f));
      expect(set).to.deep.equal(applied);
      return applied;
    };
    expect(HEAP_FLAGS).to.deep.equal(['--heap-growing-percent=25', '--no-allocation-site-pretenuring']);
    expect(tune([], '')).to.deep.equal(HEAP_FLAGS);
    expect(tune(['--enable-source-maps'], '--max-old-space-size=512')).to.deep.equal(HEAP_FLAGS);
    expect(tune(['--heap-growing-percent=60'], '')).to.deep.equal(['--no-allocation-site-pretenuring']);
    expect(tune([], '--max-old-space-size=512 --heap_growing_percent=10')).to.deep.equal([
      '--no-allocation-site-pretenuring',
    ]);
    expect(tune(['--allocation-site-pretenuring'], '')).to.deep.equal(['--heap-growing-percent=25']);
    expect(tune([], '--no-allocation_site_pretenuring --heap-growing-percent=0')).to.deep.equal([]);
    // a value that merely mentions a flag is not that flag
    expect(tune(['--title=heap-growing-percent'], '')).to.deep.equal(HEAP_FLAGS);
  });

  it('the same garbage, the same live data: a far smaller old space than with V8’s own factor', () => {
    const own = churn('default');
    const tuned = churn('tune');
    expect(HEAP_GROWING_PERCENT).to.equal(25);
    // measured: ~128 MB against ~52 MB (on a slower machine 86 against 53: V8's own factor grows
    // less when its collections take longer); the live data alone is ~20 MB
    expect(tuned, `${tuned} vs ${own}`).to.be.below(own * 0.75);
    expect(tuned, `${tuned}`).to.be.below(64 * 1048576);
    expect(tuned).to.be.above(15 * 1048576);
  });
});
