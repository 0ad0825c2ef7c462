/**
 * Prints the CLI's command tree as JSON — `[{command: "app put", options: ["--file", …]}, …]` —
 * by loading index.ts with commander's parse turned into a no-op (nothing runs, no store is
 * opened). Run as its own process: `node --require tsx/cjs test/helpers/cli-tree.ts`.
 */
import path from 'node:path';
import { Command } from 'commander';

/** the program index.ts parsed (the first command asked to parse) */
const parsed: Command[] = [];
Command.prototype.parseAsync = function (this: Command) {
  parsed.push(this);
  return Promise.resolve(this);
};
Command.prototype.parse = function (this: Command) {
  parsed.push(this);
  return this;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
require(path.resolve(__dirname, '../../index.ts'));

const tree: { command: string; options: string[] }[] = [];
const walk = (c: Command, prefix: string[]) => {
  for (const sub of c.commands) {
    const name = [...prefix, sub.name()];
    tree.push({ command: name.join(' '), options: sub.options.map((o) => o.long).filter((l): l is string => !!l) });
    walk(sub, name);
  }
};
if (parsed[0]) walk(parsed[0], []);
process.stdout.write(`${JSON.stringify(tree)}\n`);
