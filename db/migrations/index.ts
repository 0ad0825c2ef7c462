import fs from 'node:fs';
import path from 'node:path';

export interface Precheck {
  /** a query that finds what the migration cannot apply to (no rows: go ahead) */
  sql: string;
  /** what to tell the operator about the rows found */
  explain(rows: Record<string, unknown>[]): string;
}

export interface Migration {
  version: number;
  name: string;
  statements: string[];
  precheck?: Precheck;
}

/**
 * Numbered migrations of one dialect: `db/migrations/<dialect>/NNN_name.ts`, each exporting
 * `statements` (an array of SQL statements applied in order, in one go) and optionally a
 * `precheck` that refuses the migration, naming what is in the way, before anything changes.
 */
export function loadMigrations(dialect: 'sqlite' | 'mariadb'): Migration[] {
  const dir = path.join(__dirname, dialect);
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d{3}_[\w-]+\.(ts|js)$/.test(f) && !f.endsWith('.d.ts'))
    .sort()
    .map((f) => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require(path.join(dir, f)) as { statements: string[]; precheck?: Precheck };
      return {
        version: Number(f.slice(0, 3)),
        name: f.replace(/\.(ts|js)$/, ''),
        statements: mod.statements,
        precheck: mod.precheck,
      };
    });
}
