import { expect } from 'chai';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROTOCOL_FILE, regions, staleRegions } from '../docs/generate';
import { Codes } from '../system/errors';
import { PLATFORMS } from '../application/platforms';
import { upstreamEnv } from '../application/contract';

/**
 * The docs stand alone in the repo: every relative link in README.md and docs/ points to a file
 * (and, into markdown, an anchor) that exists inside the repository; nothing points at files
 * outside it; the CLI's help refers to docs/PROTOCOL.md anchors that exist; and the generated
 * tables of docs/PROTOCOL.md are what the code produces today.
 */

const ROOT = path.resolve(__dirname, '..');
const rel = (f: string) => path.relative(ROOT, f);

/** README.md, CHANGELOG.md and every markdown file under docs/ */
function markdownFiles(): string[] {
  const out = ['README.md', 'CHANGELOG.md'].map((f) => path.join(ROOT, f)).filter((f) => fs.existsSync(f));
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const f = path.join(dir, e.name);
      if (e.isDirectory()) walk(f);
      else if (e.name.endsWith('.md')) out.push(f);
    }
  };
  walk(path.join(ROOT, 'docs'));
  return out;
}

/** the text without fenced code blocks (line structure kept) */
function withoutFences(text: string): string {
  let inFence = false;
  return text
    .split('\n')
    .map((line) => {
      if (/^\s*(```|~~~)/.test(line)) {
        inFence = !inFence;
        return '';
      }
      return inFence ? '' : line;
    })
    .join('\n');
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces → hyphens */
export function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links → their text
    .replace(/<[^>]+>/g, '') // inline HTML
    .replace(/[`*_~]/g, (c) => (c === '_' ? '_' : '')) // emphasis and code markers (underscores stay)
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

const anchorCache = new Map<string, Set<string>>();
function anchorsOf(file: string): Set<string> {
  const hit = anchorCache.get(file);
  if (hit) return hit;
  const text = withoutFences(fs.readFileSync(file, 'utf8'));
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of text.split('\n')) {
    const h = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (h) {
      const base = slug(h[1]);
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      anchors.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const m of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(m[1]);
  }
  anchorCache.set(file, anchors);
  return anchors;
}

interface Link {
  file: string;
  line: number;
  target: string;
}

function linksOf(file: string): Link[] {
  const lines = withoutFences(fs.readFileSync(file, 'utf8')).split('\n');
  const out: Link[] = [];
  lines.forEach((raw, i) => {
    const line = raw.replace(/`[^`]*`/g, ''); // inline code is not a link
    for (const m of line.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g))
      out.push({ file, line: i + 1, target: m[1] });
    const ref = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/.exec(line);
    if (ref) out.push({ file, line: i + 1, target: ref[1] });
  });
  return out;
}

/** what is wrong with a link, or undefined when it points to something that exists in the repo */
function brokenLink(l: Link): string | undefined {
  if (/^(https?|mailto):/i.test(l.target)) return undefined;
  if (/^[a-z][a-z0-9+.-]*:/i.test(l.target)) return 'not a relative link or a web address';
  const [pathPart, anchor] = l.target.split('#', 2) as [string, string | undefined];
  if (pathPart.startsWith('/')) return 'an absolute path';
  const target = pathPart === '' ? l.file : path.resolve(path.dirname(l.file), decodeURIComponent(pathPart));
  if (path.relative(ROOT, target).startsWith('..')) return 'outside the repository';
  if (!fs.existsSync(target)) return 'no such file';
  if (anchor !== undefined && target.endsWith('.md') && !anchorsOf(target).has(decodeURIComponent(anchor)))
    return `no anchor #${anchor} in ${rel(target)}`;
  return undefined;
}

const run = promisify(execFile);

/**
 * The help text of the CLI and of every command and subcommand, as `--help` prints it, from one
 * process: commander's parseAsync is replaced by a walk over the command tree index.ts builds.
 */
async function allHelp(): Promise<Array<{ command: string; text: string }>> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GATEHOUSE_')));
  const walker = `
    const { Command } = require(${JSON.stringify(require.resolve('commander'))});
    Command.prototype.parseAsync = async function () {
      const out = [];
      const walk = (cmd, names) => {
        out.push({ command: names.join(' '), text: cmd.helpInformation() });
        for (const sub of cmd.commands) walk(sub, [...names, sub.name()]);
      };
      walk(this, [this.name()]);
      process.stdout.write(JSON.stringify(out));
    };
    require(${JSON.stringify(path.join(ROOT, 'index.ts'))});
  `;
  const { stdout } = await run(process.execPath, ['--require', require.resolve('tsx/cjs'), '-e', walker], {
    cwd: ROOT,
    env,
    timeout: 50_000,
  });
  return JSON.parse(stdout) as Array<{ command: string; text: string }>;
}

describe('docs', function () {
  this.timeout(60_000);

  it('every relative link in README.md and docs/ points to an existing file and anchor inside the repo', () => {
    const files = markdownFiles();
    expect(files.map(rel)).to.include.members(['README.md', 'docs/PROTOCOL.md']);
    const broken: string[] = [];
    let checked = 0;
    for (const f of files) {
      for (const l of linksOf(f)) {
        checked += 1;
        const why = brokenLink(l);
        if (why) broken.push(`${rel(l.file)}:${l.line} ${l.target} — ${why}`);
      }
    }
    expect(broken, broken.join('\n')).to.deep.equal([]);
    expect(checked).to.be.greaterThan(20);
  });

  it('README.md links the protocol in the repo, and no doc mentions ../shared or an unlinked "PROTOCOL.md §N"', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    expect(linksOf(path.join(ROOT, 'README.md')).map((l) => l.target.split('#')[0])).to.include('docs/PROTOCOL.md');
    const offending: string[] = [];
    for (const f of markdownFiles()) {
      fs.readFileSync(f, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          // a section reference is fine as the text of a link into the repo, not on its own
          const bare = line.replace(/\[[^\]]*\]\([^)]*\)/g, '');
          if (line.includes('../shared') || /PROTOCOL\.md §/.test(bare))
            offending.push(`${rel(f)}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(offending, offending.join('\n')).to.deep.equal([]);
    expect(readme).to.not.match(/shared\/(PROTOCOL|VECTORS)\.md/);
  });

  it("the CLI's help mentions no ../shared and links only to docs/PROTOCOL.md anchors that exist", async () => {
    const help = await allHelp();
    expect(help.map((h) => h.command)).to.include.members([
      'gatehouse',
      'gatehouse app',
      'gatehouse caller',
      'gatehouse app put',
      'gatehouse caller token',
    ]);
    const anchors = anchorsOf(PROTOCOL_FILE);
    const bad: string[] = [];
    let refs = 0;
    for (const { command, text } of help) {
      if (text.includes('../shared')) bad.push(`${command}: mentions ../shared`);
      if (/PROTOCOL\.md §/.test(text)) bad.push(`${command}: a bare "PROTOCOL.md §" reference`);
      for (const m of text.matchAll(/(\S*PROTOCOL\.md)(#[^\s),]+)?/g)) {
        refs += 1;
        if (m[1] !== 'docs/PROTOCOL.md') bad.push(`${command}: ${m[0]} is not docs/PROTOCOL.md`);
        else if (!m[2] || !anchors.has(m[2].slice(1)))
          bad.push(`${command}: ${m[0]} names no anchor of docs/PROTOCOL.md`);
      }
    }
    expect(bad, bad.join('\n')).to.deep.equal([]);
    expect(refs, 'the help of app and caller points into docs/PROTOCOL.md').to.be.at.least(2);
  });

  it('the generated tables of docs/PROTOCOL.md are current (npm run docs)', () => {
    const text = fs.readFileSync(PROTOCOL_FILE, 'utf8');
    expect(staleRegions(text, regions()), 'run `npm run docs` and commit docs/PROTOCOL.md').to.deep.equal([]);
  });

  it('docs/PROTOCOL.md names every return code and every GATEHOUSE_ variable the code knows', () => {
    const text = fs.readFileSync(PROTOCOL_FILE, 'utf8');
    for (const [message, code] of Object.entries(Codes))
      expect(text, `${code} ${message}`).to.include(`| ${code} | \`${message}\` |`);
    const config = fs.readFileSync(path.join(ROOT, 'system/config.ts'), 'utf8');
    // the framework's variables, and the upstream base URLs each platform's contract declares
    const upstreams = PLATFORMS.flatMap((p) => Object.keys(p.upstreams).map((k) => upstreamEnv(p, k)));
    expect(upstreams).to.include('GATEHOUSE_WECHAT_API');
    const vars = [...new Set([...(config.match(/GATEHOUSE_[A-Z_]+/g) ?? []), ...upstreams])];
    expect(vars.length).to.be.greaterThan(20);
    for (const v of vars) expect(text, v).to.include(`| \`${v}\` |`);
  });

  it('finds broken links, anchors and paths outside the repo (the checker itself)', () => {
    const readme = path.join(ROOT, 'README.md');
    const at = (target: string) => brokenLink({ file: readme, line: 1, target });
    expect(at('docs/PROTOCOL.md')).to.equal(undefined);
    expect(at('docs/PROTOCOL.md#6-app-configs')).to.equal(undefined);
    expect(at('https://example.com/x')).to.equal(undefined);
    expect(at('docs/PROTOCOL.md#no-such-anchor')).to.match(/no anchor/);
    expect(at('docs/NOPE.md')).to.equal('no such file');
    expect(at('../shared/PROTOCOL.md')).to.equal('outside the repository');
    expect(at('/etc/passwd')).to.equal('an absolute path');
    expect(slug('3.1 Sessions (public) — wire-compatible with Wafer')).to.equal(
      '31-sessions-public--wire-compatible-with-wafer',
    );
    expect(slug('`wechat_app`')).to.equal('wechat_app');
  });
});
