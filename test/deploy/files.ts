/**
 * Readers for the deployment files (Dockerfile, docker-compose.yml, deploy/nginx.conf, systemd
 * unit, env files) — just enough of each format to check them against the code, without a
 * dependency. Each throws on what it does not understand rather than guessing.
 */
import { configFromEnv } from '../../system/config';

export type Env = Record<string, string>;

// --- the code's configuration -------------------------------------------------------------------

/**
 * The GATEHOUSE_* names the code reads: configFromEnv is handed an environment that records every
 * name asked of it. A name a deployment file sets that is not among them is a typo or a rename.
 */
export function configEnvNames(): Set<string> {
  const read = new Set<string>();
  const env = new Proxy({} as Record<string, string | undefined>, {
    get(_target, key) {
      if (typeof key === 'string') read.add(key);
      return undefined;
    },
  });
  configFromEnv(env);
  return new Set([...read].filter((k) => k.startsWith('GATEHOUSE_')));
}

/** the names of `env` (GATEHOUSE_* only) that the code does not read */
export function unknownNames(env: Env, known = configEnvNames()): string[] {
  return Object.keys(env).filter((k) => k.startsWith('GATEHOUSE_') && !known.has(k));
}

// --- Dockerfile ---------------------------------------------------------------------------------

export interface Instruction {
  /** upper case: FROM, RUN, ENV … */
  op: string;
  /** the rest of the instruction, continuation lines joined */
  args: string;
  line: number;
}

export interface Stage {
  image: string;
  name?: string;
  instructions: Instruction[];
}

export function parseDockerfile(text: string): { preamble: Instruction[]; stages: Stage[] } {
  const instructions: Instruction[] = [];
  let current: { text: string; line: number } | undefined;
  text.split('\n').forEach((raw, i) => {
    const trimmed = raw.trim();
    if (trimmed.startsWith('#') || (trimmed === '' && !current)) return;
    const continued = trimmed.endsWith('\\');
    const part = continued ? trimmed.slice(0, -1).trim() : trimmed;
    if (current) current.text += ` ${part}`;
    else current = { text: part, line: i + 1 };
    if (!continued) {
      const m = /^([A-Za-z]+)\s+([\s\S]*)$/.exec(current.text.trim());
      if (!m) throw new Error(`Dockerfile:${current.line}: cannot read "${current.text}"`);
      instructions.push({ op: m[1].toUpperCase(), args: m[2].trim(), line: current.line });
      current = undefined;
    }
  });
  const preamble: Instruction[] = [];
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.op === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`Dockerfile:${ins.line}: cannot read FROM ${ins.args}`);
      stages.push({ image: m[1], name: m[2], instructions: [] });
    } else if (stages.length === 0) preamble.push(ins);
    else stages[stages.length - 1].instructions.push(ins);
  }
  return { preamble, stages };
}

/** the JSON array of an exec-form instruction (CMD ["node", …]); throws on the shell form */
export function execForm(args: string): string[] {
  if (!args.startsWith('[')) throw new Error(`not the exec form: ${args}`);
  const v: unknown = JSON.parse(args);
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new Error(`not an array of strings: ${args}`);
  return v;
}

/** ENV K=V K2="v 2" (or the old ENV K V) */
export function envPairs(args: string): Env {
  const out: Env = {};
  if (!/^[A-Za-z_][\w.-]*=/.test(args)) {
    const m = /^(\S+)\s+(.*)$/.exec(args);
    if (!m) throw new Error(`cannot read ENV ${args}`);
    out[m[1]] = m[2];
    return out;
  }
  const re = /([A-Za-z_][\w.-]*)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)\s*/gy;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(args)) !== null && m[0] !== '') {
    const v = m[2];
    out[m[1]] = v.startsWith('"') ? (JSON.parse(v) as string) : v.startsWith("'") ? v.slice(1, -1) : v;
    end = re.lastIndex;
  }
  if (end !== args.length) throw new Error(`cannot read ENV ${args} (at "${args.slice(end)}")`);
  return out;
}

/** HEALTHCHECK [--opt=v …] CMD […] */
export function healthcheck(args: string): { options: Env; command: string[] } {
  const options: Env = {};
  let rest = args;
  for (let m = /^--([\w-]+)=(\S+)\s+/.exec(rest); m; m = /^--([\w-]+)=(\S+)\s+/.exec(rest)) {
    options[m[1]] = m[2];
    rest = rest.slice(m[0].length);
  }
  const cmd = /^CMD\s+(.*)$/.exec(rest);
  if (!cmd) throw new Error(`HEALTHCHECK without CMD: ${args}`);
  return { options, command: execForm(cmd[1]) };
}

/** "15s", "1m30s", "500ms" → milliseconds (Docker, compose and systemd durations) */
export function durationMs(text: string): number {
  let total = 0;
  let rest = text.trim();
  if (/^\d+$/.test(rest)) return Number(rest) * 1000; // systemd: plain seconds
  while (rest !== '') {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)/.exec(rest);
    if (!m) throw new Error(`not a duration: ${text}`);
    total += Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
    rest = rest.slice(m[0].length);
  }
  return total;
}

// --- .dockerignore ------------------------------------------------------------------------------

/** whether .dockerignore keeps `file` (a path relative to the context) out of the build context */
export function dockerIgnored(patterns: string[], file: string): boolean {
  let ignored = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const pattern = (negate ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, '');
    const re = new RegExp(
      '^' +
        pattern
          .split('**')
          .map((s) =>
            s
              .split('*')
              .map((t) => t.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
              .join('[^/]*'),
          )
          .join('.*') +
        '(/.*)?$',
    );
    if (re.test(file)) ignored = !negate;
  }
  return ignored;
}

export function dockerignorePatterns(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

// --- YAML (the subset docker-compose.yml is written in) -----------------------------------------

export type Yaml = string | null | Yaml[] | { [key: string]: Yaml };

interface YamlLine {
  indent: number;
  text: string;
  line: number;
}

/** the text before a ` #` comment that is not inside quotes */
function stripComment(text: string): string {
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]))) return text.slice(0, i).trimEnd();
  }
  return text;
}

function yamlScalar(raw: string, line: number): Yaml {
  const s = raw.trim();
  if (s === '' || s === '~' || s === 'null') return null;
  if (s.startsWith('"')) return JSON.parse(s) as string;
  if (s.startsWith("'")) {
    if (!s.endsWith("'") || s.length < 2) throw new Error(`line ${line}: unterminated '${s}`);
    return s.slice(1, -1).replace(/''/g, "'");
  }
  if (s.startsWith('[')) {
    if (!s.endsWith(']')) throw new Error(`line ${line}: a flow sequence must fit on one line`);
    const items: string[] = [];
    let quote: string | undefined;
    let cur = '';
    for (const c of s.slice(1, -1)) {
      if (quote) {
        if (c === quote) quote = undefined;
        cur += c;
      } else if (c === '"' || c === "'") {
        quote = c;
        cur += c;
      } else if (c === ',') {
        items.push(cur);
        cur = '';
      } else cur += c;
    }
    if (cur.trim() !== '') items.push(cur);
    return items.map((i) => yamlScalar(i, line));
  }
  if (/^[[{|>&*!]/.test(s)) throw new Error(`line ${line}: unsupported YAML "${s}"`);
  return s;
}

/** `key: value` split at the first unquoted ": " (or a trailing ":"), or undefined */
function splitKey(text: string): [string, string] | undefined {
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === ':' && (i === text.length - 1 || text[i + 1] === ' ')) {
      const key = text.slice(0, i).trim();
      return [/^["']/.test(key) ? key.slice(1, -1) : key, text.slice(i + 1).trim()];
    }
  }
  return undefined;
}

/** block mappings, block sequences of scalars, one-line flow sequences, quoted and plain scalars */
export function parseYaml(text: string): Yaml {
  const lines: YamlLine[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.includes('\t')) throw new Error(`line ${i + 1}: a tab`);
    const body = stripComment(raw);
    if (body.trim() === '') return;
    lines.push({ indent: body.length - body.trimStart().length, text: body.trim(), line: i + 1 });
  });
  let i = 0;
  const isItem = (l: YamlLine) => l.text === '-' || l.text.startsWith('- ');
  const block = (indent: number): Yaml => {
    if (isItem(lines[i])) {
      const seq: Yaml[] = [];
      while (i < lines.length && lines[i].indent === indent && isItem(lines[i])) {
        const item = lines[i].text.slice(1).trim();
        if (splitKey(item) && !/^["'[]/.test(item))
          throw new Error(`line ${lines[i].line}: mappings inside sequences are not supported`);
        seq.push(yamlScalar(item, lines[i].line));
        i++;
      }
      return seq;
    }
    const map: { [key: string]: Yaml } = {};
    while (i < lines.length && lines[i].indent === indent && !isItem(lines[i])) {
      const l = lines[i];
      const kv = splitKey(l.text);
      if (!kv) throw new Error(`line ${l.line}: expected "key: value", got "${l.text}"`);
      const [key, rest] = kv;
      if (key in map) throw new Error(`line ${l.line}: duplicate key "${key}"`);
      i++;
      if (rest !== '') map[key] = yamlScalar(rest, l.line);
      else if (i < lines.length && lines[i].indent > indent) map[key] = block(lines[i].indent);
      else if (i < lines.length && lines[i].indent === indent && isItem(lines[i])) map[key] = block(indent);
      else map[key] = null;
    }
    if (i < lines.length && lines[i].indent > indent) throw new Error(`line ${lines[i].line}: unexpected indentation`);
    return map;
  };
  const doc = block(0);
  if (i !== lines.length) throw new Error(`line ${lines[i].line}: unexpected "${lines[i].text}"`);
  return doc;
}

/** compose's variable interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, $$ */
export function interpolate(text: string, vars: Env): string {
  return text.replace(/\$\$|\$\{([A-Za-z_]\w*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_]\w*)/g, (m, name, op, arg, bare) => {
    if (m === '$$') return '$';
    if (bare) return vars[bare] ?? '';
    const v = vars[name as string];
    const unset = op?.startsWith(':') ? !v : v === undefined;
    if (op?.endsWith('-')) return unset ? (arg as string) : (v as string);
    if (op?.endsWith('?')) {
      if (unset) throw new Error(`${name}: ${arg}`);
      return v as string;
    }
    return v ?? '';
  });
}

// --- nginx --------------------------------------------------------------------------------------

export interface NginxDirective {
  name: string;
  args: string[];
  block?: NginxDirective[];
}

export function parseNginx(text: string): NginxDirective[] {
  const tokens: string[] = [];
  const re = /#[^\n]*|"((?:[^"\\]|\\.)*)"|'([^']*)'|([{};])|([^\s{};"'#]+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[0].startsWith('#')) continue;
    tokens.push(m[1] ?? m[2] ?? m[3] ?? m[4]);
  }
  let i = 0;
  const block = (nested: boolean): NginxDirective[] => {
    const out: NginxDirective[] = [];
    while (i < tokens.length) {
      if (tokens[i] === '}') {
        if (!nested) throw new Error('nginx: unexpected }');
        i++;
        return out;
      }
      const d: NginxDirective = { name: tokens[i++], args: [] };
      while (i < tokens.length && tokens[i] !== ';' && tokens[i] !== '{') d.args.push(tokens[i++]);
      if (tokens[i] === '{') {
        i++;
        d.block = block(true);
      } else if (tokens[i] === ';') i++;
      else throw new Error(`nginx: ${d.name} is not terminated`);
      out.push(d);
    }
    if (nested) throw new Error('nginx: missing }');
    return out;
  };
  return block(false);
}

/** nginx sizes: 10m, 512k, 1g, 1048576 */
export function nginxSize(text: string): number {
  const m = /^(\d+)([kKmMgG]?)$/.exec(text);
  if (!m) throw new Error(`not an nginx size: ${text}`);
  return Number(m[1]) * { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
}

// --- systemd unit and env files -----------------------------------------------------------------

/** section → key → values (a key may repeat) */
export function parseUnit(text: string): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  let section: Record<string, string[]> | undefined;
  text.split('\n').forEach((raw, i) => {
    const l = raw.trim();
    if (l === '' || l.startsWith('#') || l.startsWith(';')) return;
    const s = /^\[(\w+)\]$/.exec(l);
    if (s) {
      section = out[s[1]] ??= {};
      return;
    }
    const kv = /^(\w+)=(.*)$/.exec(l);
    if (!kv || !section) throw new Error(`unit line ${i + 1}: cannot read "${l}"`);
    (section[kv[1]] ??= []).push(kv[2].trim());
  });
  return out;
}

/** KEY=value lines (systemd EnvironmentFile, .env); # comments */
export function parseEnvFile(text: string): Env {
  const out: Env = {};
  text.split('\n').forEach((raw, i) => {
    const l = raw.trim();
    if (l === '' || l.startsWith('#')) return;
    const kv = /^([A-Za-z_]\w*)=(.*)$/.exec(l);
    if (!kv) throw new Error(`env line ${i + 1}: cannot read "${l}"`);
    out[kv[1]] = kv[2];
  });
  return out;
}
