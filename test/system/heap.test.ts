import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';
import { HEAP_GROWING_PERCENT, tuneHeap } from '../../system/heap';

const churn = (mode: string) => {
  const out = execFileSync(
    process.execPath,
    ['--require', 'tsx/cjs', path.join(__dirname, '../fixtures/heap-churn.ts'), mode],
    { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } },
  );
  return Number(out.split(' ')[0]);
};

describe('tuneHeap: the old generation grows 25 % past what survives, set when serve starts', function () {
  this.timeout(60_000);

  it('an operator’s own --heap-growing-percent wins, as a node flag or in NODE_OPTIONS', () => {
    expect(tuneHeap(['--heap-growing-percent=60'], '')).to.equal(undefined);
    expect(tuneHeap([], '--max-old-space-size=512 --heap_growing_percent=10')).to.equal(undefined);
  });

  it('the same garbage, the same live data: a far smaller old space than with V8’s own factor', () => {
    const own = churn('default');
    const tuned = churn('tune');
    expect(HEAP_GROWING_PERCENT).to.equal(25);
    // measured: ~128 MB against ~52 MB; the live data alone is ~20 MB
    expect(tuned, `${tuned} vs ${own}`).to.be.below(own * 0.6);
    expect(tuned).to.be.above(15 * 1048576);
  });
});
