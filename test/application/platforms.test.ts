// The platform contract (application/contract.ts) and its list (application/platforms.ts): one folder and
// one line per platform, nothing else naming a platform, and every app kind's sample valid by its own schema.
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { APP_KINDS } from '../../application';
import { PLATFORMS } from '../../application/platforms';
import { upstreamEnv } from '../../application/contract';
import { AppService } from '../../application/services/apps';
import { configFromEnv } from '../../system/config';
import { SecretBox } from '../../system/secretbox';
import type { Store } from '../../db/store';

const ROOT = path.join(__dirname, '..', '..');
const PLATFORMS_DIR = path.join(ROOT, 'application', 'platforms');

/** every .ts file below a folder, as paths relative to the repository */
function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.name.endsWith('.ts') ? [path.relative(ROOT, p)] : [];
  });
}

/** the relative imports of a file, resolved to repository paths (without extension) */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  return [...text.matchAll(/from '(\.[^']+)'/g)].map((m) =>
    path.relative(ROOT, path.resolve(path.dirname(path.join(ROOT, file)), m[1])),
  );
}

describe('platforms: one folder, one contract, one line', () => {
  it('the list names each folder under application/platforms/ once, in name order, by its own name', () => {
    const folders = fs
      .readdirSync(PLATFORMS_DIR, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    expect(PLATFORMS.map((p) => p.name)).to.deep.equal(folders);
    for (const p of PLATFORMS) {
      // the folder's own default export is the listed contract
      const mod = module.require(path.join(PLATFORMS_DIR, p.name)) as { default: unknown };
      expect(mod.default, p.name).to.equal(p);
    }
  });

  it('nothing outside a platform folder imports it, but the list (and the compatibility layers that speak another product’s per-platform forms)', () => {
    const allowed: Record<string, string[]> = {
      'application/platforms.ts': PLATFORMS.map((p) => p.name),
      // the Wafer forms of WeCom
      'application/controllers/workauth/index.ts': ['wecom'],
      // varys's routes and tables name its platforms (issue 16): Shansong's merchant callback and
      // registration, the merchant id and code formats its importer checks
      'application/controllers/varys/index.ts': ['shansong'],
      'application/importers/varys.ts': ['fengniao', 'shansong'],
    };
    const outside = ['application', 'system', 'db']
      .flatMap((d) => tsFiles(path.join(ROOT, d)))
      .concat(['index.ts'])
      .filter((f) => !f.startsWith('application/platforms/'));
    expect(outside.length).to.be.greaterThan(40);
    const found: string[] = [];
    for (const f of outside) {
      for (const target of importsOf(f)) {
        const m = /^application\/platforms\/([^/]+)/.exec(target);
        if (m && !(allowed[f] ?? []).includes(m[1])) found.push(`${f} → ${target}`);
      }
    }
    expect(found).to.deep.equal([]);
  });

  it('a platform folder imports no other platform folder but WeChat (the errcode rules and replies WeCom shares)', () => {
    const found: string[] = [];
    for (const p of PLATFORMS) {
      for (const f of tsFiles(path.join(PLATFORMS_DIR, p.name))) {
        for (const target of importsOf(f)) {
          const m = /^application\/platforms\/([^/]+)/.exec(target);
          if (m && m[1] !== p.name && !(m[1] === 'wechat' && target.endsWith('/client')))
            found.push(`${f} → ${target}`);
        }
      }
    }
    expect(found).to.deep.equal([]);
  });

  it("every app kind's sample is valid by its own schema, holds its secret fields, and has an identity", () => {
    const apps = new AppService({} as Store, new SecretBox(undefined));
    for (const kind of APP_KINDS) apps.defineKind(kind);
    const names = APP_KINDS.map((k) => k.platform);
    expect(new Set(names).size, 'kind names are unique').to.equal(names.length);
    for (const kind of APP_KINDS) {
      const valid = apps.validate(kind.platform, kind.sample);
      for (const f of kind.secrets) expect(valid[f], `${kind.platform}.${f}`).to.be.a('string').and.not.equal('');
      expect(apps.identityOf(kind.platform, valid), kind.platform).to.be.a('string').and.not.equal('undefined');
    }
  });

  it("an app kind's secrets are its writeOnly fields, and the fields it requires those not optional()", () => {
    const kinds = new Map(APP_KINDS.map((k) => [k.platform, k]));
    expect(kinds.get('wechat_tp')!.secrets).to.deep.equal(['secret', 'token', 'aesKey']);
    expect(kinds.get('wecom_corp')!.secrets).to.deep.equal(['secret']);
    expect(kinds.get('cos')!.secrets).to.deep.equal(['secretKey']);
    expect(kinds.get('wechat_tp')!.schema.required).to.deep.equal(['appId', 'secret', 'token', 'aesKey']);
    expect(kinds.get('wechat_tp')!.schema.additionalProperties).to.equal(false);
    for (const kind of APP_KINDS) {
      const props = kind.schema.properties as Record<string, { writeOnly?: boolean }>;
      const writeOnly = Object.keys(props).filter((k) => props[k].writeOnly);
      expect(kind.secrets, kind.platform).to.deep.equal(writeOnly).and.not.be.empty;
      expect(kind.schema.required, kind.platform).to.include(kind.idField);
    }
  });

  it('the environment the platforms read their URLs from holds no credential (config.env)', () => {
    const config = configFromEnv({
      GATEHOUSE_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
      GATEHOUSE_JWT_SECRET: 'jwt-secret-0123456789',
      GATEHOUSE_DATABASE_URL: 'mariadb://u:db-password@127.0.0.1:3306/gh',
      GATEHOUSE_METRICS_TOKEN: 'metrics-token-1',
      GATEHOUSE_WECHAT_API: 'http://127.0.0.1:9/',
      HOME: '/root',
    });
    expect(config.env).to.deep.equal({ GATEHOUSE_WECHAT_API: 'http://127.0.0.1:9/' });
    expect(config.jwtSecret).to.equal('jwt-secret-0123456789');
  });

  it('every platform declares its upstream base URLs, each overridable by a GATEHOUSE_ variable of its own', () => {
    const envs = PLATFORMS.flatMap((p) => Object.keys(p.upstreams).map((k) => upstreamEnv(p, k)));
    expect(new Set(envs).size).to.equal(envs.length);
    expect(envs).to.include.members(['GATEHOUSE_WECHAT_API', 'GATEHOUSE_WECHAT_MP', 'GATEHOUSE_WECOM_OPEN']);
    for (const p of PLATFORMS) {
      expect(Object.keys(p.upstreams), p.name).to.not.be.empty;
      for (const url of Object.values<string>(p.upstreams)) expect(() => new URL(url)).to.not.throw();
    }
  });
});
