/**
 * The database cannot be opened. The message is one line naming the database (never a password),
 * the cause with its error code, and what to check; the CLI prefixes the variable's name.
 */
export class DatabaseOpenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatabaseOpenError';
  }
}

/** a driver's message on one line, cut short: some span lines, some quote whole statements */
export function oneLine(text: string, max = 200): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}
