import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { ValidateFunction } from 'ajv';
import { precompiledSource } from '../../application/precompile';
import { PLATFORMS } from '../../application/platforms';
import { compiler, schemaKey, schemasSeen } from '../../system/validators';

/**
 * The build's validators (application/precompile.ts → validators.generated.js) are ajv's own
 * standalone code for exactly the schemas a node asks for: each must answer every input as the
 * validator compiled at run time does, errors included, and a changed schema must miss.
 */
describe('precompiled validators (npm run build)', function () {
  this.timeout(30_000);
  let dir: string;
  let built: Record<string, ValidateFunction>;
  let count: number;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-validators-'));
    const out = precompiledSource();
    count = out.count;
    const file = path.join(dir, 'validators.generated.js');
    // from a temporary directory, ajv's runtime helpers resolve from this checkout
    const source = out.source.replace(
      /require\("(ajv\/[^"]+)"\)/g,
      (_m, id: string) => `require(${JSON.stringify(require.resolve(id))})`,
    );
    fs.writeFileSync(file, source);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    built = require(file) as Record<string, ValidateFunction>;
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('holds one validator for every schema a composed node asks for: every interface para and app kind', () => {
    const keys = [...schemasSeen().keys()];
    expect(count).to.equal(keys.length);
    expect(keys.length).to.be.greaterThan(40);
    for (const k of keys) expect(built[k], k).to.be.a('function');
    expect(Object.keys(built).sort()).to.deep.equal([...keys].sort());
  });

  it('answers as the run-time validator does, errors included, valid samples and hostile input alike', () => {
    const samples = PLATFORMS.flatMap((p) => p.apps.map((k) => k.sample));
    const inputs: unknown[] = [
      {},
      null,
      [],
      'x',
      42,
      { appid: 'wx1', code: 'c' },
      { codeName: 'a', force: 'yes' },
      { codeName: 'x'.repeat(300) },
      { unknown: 1, codeName: 7 },
      ...samples,
      ...samples.map((s) => ({ ...s, extra: true })),
    ];
    let valid = 0;
    for (const [key, schema] of schemasSeen()) {
      const live = compiler().compile(schema);
      for (const input of inputs) {
        const copy = structuredClone(input);
        const a = built[key](copy);
        const b = live(structuredClone(input));
        expect(a, `${key} on ${JSON.stringify(input)}`).to.equal(b);
        expect(built[key].errors ?? null).to.deep.equal(live.errors ?? null);
        if (a) valid++;
      }
    }
    expect(valid, 'some inputs are valid (the samples against their kinds)').to.be.greaterThan(0);
  });

  it('keys a validator by the schema itself: a changed schema (one bound, one field) is another key', () => {
    const base = { type: 'object', properties: { a: { type: 'string', maxLength: 8 } }, additionalProperties: false };
    const k = schemaKey(base);
    expect(schemaKey(structuredClone(base))).to.equal(k);
    expect(schemaKey({ ...base, properties: { a: { type: 'string', maxLength: 9 } } })).to.not.equal(k);
    expect(schemaKey({ ...base, additionalProperties: true })).to.not.equal(k);
  });
});
