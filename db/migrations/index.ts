import fs from 'node:fs';
import path from 'node:path';

export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

/**
 * Numbered migrations of one dialect: `db/migrations/<dialect>/NNN_name.ts`, each exporting
 * `statements` (an array of SQL statements applied in order, in one go).
 */
export function loadMigrations(dialect: 'sqlite' | 'mariadb'): Migration[] {
  const dir = path.join(__dirname, dialect);
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d{3}_[\w-]+\.(ts|js)$/.test(f) && !f.endsWith('.d.ts'))
    .sort()
    .map((f) => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require(path.join(dir, f)) as { statements: string[] };
      return { version: Number(f.slice(0, 3)), name: f.replace(/\.(ts|js)$/, ''), statements: mod.statements };
    });
}
