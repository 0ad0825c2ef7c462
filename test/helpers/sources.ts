import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './cli';
import type { TestDatabase } from './db';

/**
 * Builds a source database an importer reads (varys, wxcomponent, the Wafer fork) from its DDL in
 * test/fixtures/sources/ (each file's header says which repository and files it was taken from).
 */
export async function loadDdl(db: TestDatabase, file: string): Promise<void> {
  const text = fs.readFileSync(path.join(ROOT, 'test/fixtures/sources', file), 'utf8').replace(/^--.*$/gm, '');
  for (const s of text
    .split(/;\s*\n/)
    .map((x) => x.trim())
    .filter(Boolean))
    await db.exec(s);
}
