import { expect } from 'chai';
import { GroupCommit } from '../../system/group-commit';

/** a write that the test completes by hand */
function manualWrites() {
  const writes: Array<{ rows: number[]; finish: (err?: Error) => void }> = [];
  const write = (rows: number[]) =>
    new Promise<void>((resolve, reject) => writes.push({ rows, finish: (err) => (err ? reject(err) : resolve()) }));
  return { writes, write };
}
const turn = () => new Promise((r) => setImmediate(r));

describe('GroupCommit (the push log group commit)', () => {
  it('an idle node writes a row alone, in the next turn of the event loop', async () => {
    const { writes, write } = manualWrites();
    const g = new GroupCommit(write);
    let committed = false;
    const p = g.add(1).then(() => (committed = true));
    expect(writes).to.have.length(0);
    await turn();
    expect(writes.map((w) => w.rows)).to.deep.equal([[1]]);
    expect(committed, 'not before its write commits').to.equal(false);
    writes[0].finish();
    await p;
    expect(committed).to.equal(true);
  });

  it('rows handed over in one turn, or while a write is in flight, go in one write, in order', async () => {
    const { writes, write } = manualWrites();
    const g = new GroupCommit(write);
    const first = [g.add(1), g.add(2)];
    await turn();
    expect(writes.map((w) => w.rows)).to.deep.equal([[1, 2]]);
    const second = [g.add(3), g.add(4), g.add(5)];
    await turn();
    expect(writes, 'nothing written while the first write is in flight').to.have.length(1);
    expect(g.waiting).to.equal(3);
    writes[0].finish();
    await Promise.all(first);
    await turn();
    expect(writes.map((w) => w.rows)).to.deep.equal([
      [1, 2],
      [3, 4, 5],
    ]);
    writes[1].finish();
    await Promise.all(second);
    expect(g.waiting).to.equal(0);
  });

  it('a failed write fails exactly its rows, with its error; the rows behind it are written next', async () => {
    const { writes, write } = manualWrites();
    const g = new GroupCommit(write);
    const a = g.add(1);
    const b = g.add(2);
    await turn();
    const c = g.add(3);
    writes[0].finish(new Error('deadlock'));
    const results = await Promise.allSettled([a, b]);
    expect(results.map((r) => r.status)).to.deep.equal(['rejected', 'rejected']);
    expect(results.map((r) => (r as PromiseRejectedResult).reason.message)).to.deep.equal(['deadlock', 'deadlock']);
    await turn();
    expect(writes.map((w) => w.rows)).to.deep.equal([[1, 2], [3]]);
    writes[1].finish();
    await c;
  });

  it('at most maxRows rows per write', async () => {
    const sizes: number[] = [];
    const g = new GroupCommit<number>(async (rows) => {
      sizes.push(rows.length);
    }, 4);
    await Promise.all(Array.from({ length: 10 }, (_, i) => g.add(i)));
    expect(sizes).to.deep.equal([4, 4, 2]);
  });
});
