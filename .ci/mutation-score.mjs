// Reads Stryker's JSON reports (reports/mutation/*.json, one per group of .ci/mutate.mjs) and prints the mutation score
// per
// module as the Markdown table README carries; exits 1 when the whole score is under 85 % or any
// module's under 75 % (issue 11). Score = detected (killed + timed out) / (detected + survived +
// no coverage); mutants that do not compile (the TypeScript checker) are not counted.
import fs from 'node:fs';

const MODULE_MIN = 75;
const TOTAL_MIN = 85;
const dir = process.argv[2] ?? 'reports/mutation';
const files = {};
for (const name of fs.readdirSync(dir).filter((f) => f.endsWith('.json')))
  Object.assign(files, JSON.parse(fs.readFileSync(`${dir}/${name}`, 'utf8')).files);
const report = { files };

const rows = [];
const total = { killed: 0, timeout: 0, survived: 0, noCoverage: 0, compileError: 0 };
for (const [path, { mutants }] of Object.entries(report.files).sort(([a], [b]) => a.localeCompare(b))) {
  const n = { killed: 0, timeout: 0, survived: 0, noCoverage: 0, compileError: 0 };
  for (const m of mutants) {
    const key = {
      Killed: 'killed',
      Timeout: 'timeout',
      Survived: 'survived',
      NoCoverage: 'noCoverage',
      CompileError: 'compileError',
    }[m.status];
    if (key) n[key] += 1;
  }
  for (const k of Object.keys(total)) total[k] += n[k];
  rows.push([path, n]);
}
const score = (n) => {
  const valid = n.killed + n.timeout + n.survived + n.noCoverage;
  return valid === 0 ? 100 : (100 * (n.killed + n.timeout)) / valid;
};
const line = (name, n) =>
  `| ${name} | ${score(n).toFixed(1)} % | ${n.killed} | ${n.timeout} | ${n.survived} | ${n.noCoverage} | ${n.compileError} |`;

console.log('| module | score | killed | timed out | survived | no coverage | did not compile |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const [path, n] of rows) console.log(line(`\`${path}\``, n));
console.log(line('**all**', total));

const low = rows.filter(([, n]) => score(n) < MODULE_MIN).map(([p, n]) => `${p} ${score(n).toFixed(1)} %`);
let ok = true;
if (low.length) {
  console.error(`mutation score under ${MODULE_MIN} %: ${low.join(', ')}`);
  ok = false;
}
if (score(total) < TOTAL_MIN) {
  console.error(`mutation score ${score(total).toFixed(1)} % is under ${TOTAL_MIN} %`);
  ok = false;
}
process.exit(ok ? 0 : 1);
