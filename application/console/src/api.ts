import type { Interfaces } from '../../../system/client-interfaces';

/** The console's only ways to the server: its session, and the RPC interfaces (POST ./rpc). */

export interface Session {
  sub: string;
  scope: string[];
  apps: string[] | null;
  csrf: string;
  expiresAt: number;
}

/** an envelope whose returnCode is not 0, or an HTTP refusal of the console routes */
export class Refused extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

let csrf = '';

async function json<T>(res: Response): Promise<T> {
  const body = (await res.json().catch(() => ({}))) as T & { error?: string };
  if (!res.ok) throw new Refused(res.status, body.error ?? res.statusText);
  return body;
}

export async function currentSession(): Promise<Session | null> {
  const res = await fetch('api/session', { credentials: 'same-origin' });
  if (res.status === 401) return null;
  const s = await json<Session>(res);
  csrf = s.csrf;
  return s;
}

export async function signIn(body: { operator: string; password: string } | { token: string }): Promise<Session> {
  const res = await fetch('api/session', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const s = await json<Session>(res);
  csrf = s.csrf;
  return s;
}

export async function signOut(): Promise<void> {
  await fetch('api/session', { method: 'DELETE', credentials: 'same-origin', headers: { 'x-csrf-token': csrf } });
  csrf = '';
}

const MESSAGES: Record<number, string> = {
  4001: 'Your session ended: sign in again.',
  4003: 'Your scope does not cover this.',
  1003: 'Some fields are not valid.',
  1012: 'No such app or token.',
  1014: 'Not authorized (yet).',
};

/** an interface's name, para and answer, as the registry's schemas say (system/client-interfaces.ts, generated) */
export type Name = keyof Interfaces;
export type Para<N extends Name> = Interfaces[N]['para'];
export type Result<N extends Name> = Interfaces[N]['result'];
/** the app kinds an admin para names (results name them as plain strings) */
export type Platform = Para<'admin.app.put'>['platform'];

/** calls an interface as the signed-in operator; a non-zero returnCode throws Refused */
export async function rpc<N extends Name>(
  interfaceName: N,
  // the para may be left out when every field is optional
  ...[para = {} as Para<N>]: Para<N> extends Record<string, never>
    ? [para?: Para<N>]
    : Partial<Para<N>> extends Para<N>
      ? [para?: Para<N>]
      : [para: Para<N>]
): Promise<Result<N>> {
  const res = await fetch('rpc', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
    body: JSON.stringify({ version: 1, componentName: 'console', interface: { interfaceName, para } }),
  });
  const env = await json<{ returnCode: number; returnMessage: string; returnData: unknown }>(res);
  if (env.returnCode !== 0) {
    const detail = (env.returnData as { errors?: { path: string; message: string }[] } | undefined)?.errors
      ?.map((e) => `${e.path} ${e.message}`)
      .join('; ');
    const text = MESSAGES[env.returnCode] ?? env.returnMessage;
    throw new Refused(env.returnCode, detail ? `${text} ${detail}` : `${text} (${env.returnCode})`, env.returnData);
  }
  return env.returnData as Result<N>;
}

/** whether a scope covers an interface name (`*` and trailing-`*` patterns, as the server decides) */
export function covers(scope: string[], name: string): boolean {
  return scope.some((s) => s === name || (s.endsWith('*') && name.startsWith(s.slice(0, -1))));
}

export const time = (s: number | null | undefined) =>
  s === null || s === undefined ? '—' : new Date(s * 1000).toISOString().replace('T', ' ').slice(0, 19);

export const ago = (s: number | null | undefined) => {
  if (s === null || s === undefined) return '—';
  const d = Math.round(Date.now() / 1000 - s);
  if (Math.abs(d) < 90) return d >= 0 ? `${d} s ago` : `in ${-d} s`;
  const m = Math.round(d / 60);
  if (Math.abs(m) < 90) return m >= 0 ? `${m} min ago` : `in ${-m} min`;
  const h = Math.round(m / 60);
  return h >= 0 ? `${h} h ago` : `in ${-h} h`;
};
