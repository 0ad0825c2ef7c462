import fs from 'node:fs';
import path from 'node:path';

export interface Precheck {
  /** a query that finds what the migration cannot apply to (no rows: go ahead) */
  sql: string;
  /** what to tell the operator about the rows found */
  explain(rows: Record<string, unknown>[]): string;
}

/**
 * A statement applied only when its `unless` query finds no row: a guarded ALTER, so that a store
 * set back to an older version migrates again (SQLite and MySQL have no ADD COLUMN IF NOT EXISTS).
 */
export interface Guarded {
  unless: string;
  sql: string;
}

export type Statement = string | Guarded;

export interface Migration {
  version: number;
  name: string;
  statements: Statement[];
  precheck?: Precheck;
}

/**
 * Numbered migrations of one dialect: `db/migrations/<dialect>/NNN_name.ts`, each exporting
 * `statements` (an array of SQL statements applied in order, in one go; a `Guarded` one only when
 * its `unless` query finds nothing) and optionally a
 * `precheck` that refuses the migration, naming what is in the way, before anything changes.
 */
export function loadMigrations(dialect: 'sqlite' | 'mariadb'): Migration[] {
  // beside this module (source, tsc output), or under db/migrations/ when this module is part of
  // the bundled server (dist/gatehouse.js: esbuild, npm run build), which loads them from tsc's output
  const dir = [path.join(__dirname, dialect), path.join(__dirname, 'db/migrations', dialect)].find((d) =>
    fs.existsSync(d),
  );
  if (!dir) throw new Error(`no ${dialect} migrations beside ${__dirname}`);
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d{3}_[\w-]+\.(ts|js)$/.test(f) && !f.endsWith('.d.ts'))
    .sort()
    .map((f) => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require(path.join(dir, f)) as { statements: Statement[]; precheck?: Precheck };
      return {
        version: Number(f.slice(0, 3)),
        name: f.replace(/\.(ts|js)$/, ''),
        statements: mod.statements,
        precheck: mod.precheck,
      };
    });
}
