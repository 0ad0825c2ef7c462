import qrcode from 'qrcode-generator';
import { useState } from 'preact/hooks';
import { ago, covers, rpc, time, type Para, type Platform, type Result, type Session } from './api';
import { Field, Form, Input, Note, Page, Table, useAction, useLoad } from './ui';

type AppRow = Result<'admin.app.list'>['apps'][number];
type TokenRow = Result<'admin.token.list'>['tokens'][number];
type Kind = Result<'admin.app.kinds'>['kinds'][number];
/** what the app form reads of a kind's JSON Schema */
interface KindSchema {
  properties: Record<string, Schema>;
  required?: string[];
}
interface Schema {
  type?: string;
  enum?: string[];
  anyOf?: Schema[];
  writeOnly?: boolean;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
}

const soon = (t: TokenRow) => t.expiresAt !== null && t.expiresAt - Date.now() / 1000 < 600;

export function Overview() {
  const apps = useLoad(() => rpc('admin.app.list'));
  const tokens = useLoad(() => rpc('admin.token.list'));
  const pushes = useLoad(() => rpc('admin.push.list', { limit: 200 }));
  const upstream = useLoad(() => rpc('admin.upstream.list'));
  const byPlatform = new Map<string, { calls: number; errors: number }>();
  for (const c of upstream.value?.calls ?? []) {
    const p = byPlatform.get(c.platform) ?? { calls: 0, errors: 0 };
    p.calls += c.count;
    if (c.errcode !== '0') p.errors += c.count;
    byPlatform.set(c.platform, p);
  }
  const perPlatform = new Map<string, number>();
  for (const a of apps.value?.apps ?? []) perPlatform.set(a.platform, (perPlatform.get(a.platform) ?? 0) + 1);
  const watch = (tokens.value?.tokens ?? []).filter((t) => t.lastError || soon(t));
  const hour = (pushes.value?.pushes ?? []).filter((p) => p.at > Date.now() / 1000 - 3600).length;
  return (
    <Page title="Overview">
      <Note error={apps.error ?? tokens.error ?? pushes.error} />
      <div class="cards">
        <div class="card">
          <h2>Apps</h2>
          <p class="big">{apps.value?.apps.length ?? '…'}</p>
          <ul>
            {[...perPlatform].map(([p, n]) => (
              <li key={p}>
                {p}: {n}
              </li>
            ))}
          </ul>
        </div>
        <div class="card">
          <h2>Tokens</h2>
          <p class="big">{tokens.value?.tokens.length ?? '…'}</p>
          <p>{watch.length} failing or expiring within 10 minutes</p>
        </div>
        <div class="card">
          <h2>Pushes</h2>
          <p class="big">{pushes.value ? hour : '…'}</p>
          <p>in the last hour{pushes.value?.pushes.length === 200 ? ' (of the newest 200)' : ''}</p>
        </div>
      </div>
      <h2>Platform calls (this node, since it started)</h2>
      <Table
        caption="Platform calls"
        rows={upstream.value ? [...byPlatform] : upstream.error}
        empty="No platform call yet."
        columns={[
          ['Platform', ([p]) => p],
          ['Calls', ([, c]) => c.calls],
          ['Errors', ([, c]) => c.errors],
          ['Error rate', ([, c]) => `${((100 * c.errors) / Math.max(1, c.calls)).toFixed(1)} %`],
        ]}
      />
      <h2>Tokens to look at</h2>
      <Table
        caption="Tokens failing or near expiry"
        rows={tokens.value ? watch : tokens.error}
        empty="Every token is fresh."
        columns={[
          ['Token', (t) => `${t.platform} ${t.codeName} ${t.kind}`],
          ['Expires', (t) => ago(t.expiresAt)],
          ['Last error', (t) => t.lastError ?? '—'],
        ]}
      />
    </Page>
  );
}

/** the form control of one config field, from its JSON Schema (secrets: write-only password inputs) */
function ConfigInput(props: { id: string; name: string; schema: Schema; value: string; set: (v: string) => void }) {
  const { id, schema, value, set } = props;
  if (schema.enum)
    return (
      <select id={id} value={value} onChange={(e) => set(e.currentTarget.value)}>
        <option value="">—</option>
        {schema.enum.map((v) => (
          <option key={v}>{v}</option>
        ))}
      </select>
    );
  if (schema.type === 'boolean')
    return (
      <input
        id={id}
        type="checkbox"
        checked={value === 'true'}
        onChange={(e) => set(String(e.currentTarget.checked))}
      />
    );
  const numeric = schema.type === 'integer';
  return (
    <input
      id={id}
      type={schema.writeOnly ? 'password' : numeric ? 'number' : 'text'}
      autocomplete={schema.writeOnly ? 'new-password' : 'off'}
      value={value}
      onInput={(e) => set(e.currentTarget.value)}
    />
  );
}

function AppForm(props: {
  kinds: Kind[];
  onSaved: () => void;
  initial?: { platform: string; codeName: string; config: Record<string, unknown> };
}) {
  const [platform, setPlatform] = useState(props.initial?.platform ?? props.kinds[0]?.platform ?? '');
  const [codeName, setCodeName] = useState(props.initial?.codeName ?? '');
  const [values, setValues] = useState<Record<string, string>>(() => {
    const out: Record<string, string> = {};
    const kind = props.kinds.find((k) => k.platform === props.initial?.platform);
    for (const [k, v] of Object.entries(props.initial?.config ?? {}))
      if (!kind?.secrets.includes(k) && typeof v !== 'object') out[k] = String(v);
    return out;
  });
  const kind = props.kinds.find((k) => k.platform === platform);
  const schema = kind?.schema as KindSchema | undefined;
  const action = useAction();
  const required = new Set(schema?.required ?? []);
  const save = async () => {
    const config: Record<string, unknown> = {};
    for (const [k, s] of Object.entries(schema?.properties ?? {})) {
      const v = values[k];
      if (v === undefined || v === '') continue;
      config[k] = s.type === 'boolean' ? v === 'true' : s.type === 'integer' ? Number(v) : v;
    }
    // checked by the server against the kind's schema (1003 names the field)
    const r = await rpc('admin.app.put', { platform: platform as Platform, codeName, config: config as never });
    // a secret does not linger in the page once it is stored
    setValues(Object.fromEntries(Object.entries(values).filter(([k]) => !kind?.secrets.includes(k))));
    props.onSaved();
    return `${codeName} ${r.created ? 'created' : 'saved'}.`;
  };
  return (
    <Form label="App config" action={action} submit={save}>
      <Field label="Platform">
        {(id) => (
          <select
            id={id}
            value={platform}
            disabled={!!props.initial}
            onChange={(e) => setPlatform(e.currentTarget.value)}
          >
            {props.kinds.map((k) => (
              <option key={k.platform}>{k.platform}</option>
            ))}
          </select>
        )}
      </Field>
      <Field label="codeName" hint="the name callers use for this app">
        {(id) => (
          <input
            id={id}
            required
            value={codeName}
            readOnly={!!props.initial}
            onInput={(e) => setCodeName(e.currentTarget.value)}
          />
        )}
      </Field>
      {Object.entries(kind?.schema.properties ?? {}).map(([name, schema]) => (
        <Field
          key={`${platform}.${name}`}
          label={`${name}${required.has(name) ? ' *' : ''}`}
          hint={
            schema.writeOnly
              ? props.initial
                ? 'secret: enter it again to save'
                : 'secret: stored sealed, never shown again'
              : undefined
          }
        >
          {(id) => (
            <ConfigInput
              id={id}
              name={name}
              schema={schema}
              value={values[name] ?? ''}
              set={(v) => setValues({ ...values, [name]: v })}
            />
          )}
        </Field>
      ))}
      <button type="submit" disabled={action.busy}>
        Save app
      </button>
      <Note {...action.note} />
    </Form>
  );
}

export function Apps() {
  const apps = useLoad(() => rpc('admin.app.list'));
  const kinds = useLoad(() => rpc('admin.app.kinds'));
  const [editing, setEditing] = useState<
    null | 'new' | { platform: string; codeName: string; config: Record<string, unknown> }
  >(null);
  const action = useAction();
  const open = (a: AppRow) =>
    action.run(async () => {
      const got = await rpc('admin.app.get', { platform: a.platform as Platform, codeName: a.codeName });
      const { platform: _p, codeName: _c, enabled: _e, updatedAt: _u, ...config } = got;
      setEditing({ platform: a.platform, codeName: a.codeName, config });
    });
  const remove = (a: AppRow) =>
    action.run(async () => {
      if (!window.confirm(`Delete ${a.platform} ${a.codeName}?`)) return;
      await rpc('admin.app.delete', { platform: a.platform as Platform, codeName: a.codeName });
      apps.reload();
      return `${a.codeName} deleted.`;
    });
  return (
    <Page
      title="Apps"
      actions={
        <button type="button" onClick={() => setEditing(editing === 'new' ? null : 'new')}>
          {editing === 'new' ? 'Close form' : 'New app'}
        </button>
      }
    >
      <Note error={apps.error ?? (editing ? kinds.error : undefined)} />
      <Note {...action.note} />
      {editing && kinds.value && (
        <AppForm
          key={editing === 'new' ? 'new' : `${editing.platform}.${editing.codeName}`}
          kinds={kinds.value.kinds}
          initial={editing === 'new' ? undefined : editing}
          onSaved={apps.reload}
        />
      )}
      <Table
        caption="Apps"
        rows={apps.value?.apps ?? apps.error}
        columns={[
          ['Platform', (a) => a.platform],
          ['codeName', (a) => a.codeName],
          ['Id', (a) => <code>{a.appId}</code>],
          ['Enabled', (a) => (a.enabled ? 'yes' : 'no')],
          ['Updated', (a) => ago(a.updatedAt)],
          [
            'Actions',
            (a) => (
              <span class="actions">
                <button type="button" onClick={() => void open(a)} aria-label={`Edit ${a.codeName}`}>
                  Edit
                </button>
                <button type="button" class="danger" onClick={() => void remove(a)} aria-label={`Delete ${a.codeName}`}>
                  Delete
                </button>
              </span>
            ),
          ],
        ]}
      />
    </Page>
  );
}

export function Tokens(props: { session: Session }) {
  const tokens = useLoad(() => rpc('admin.token.list'));
  const action = useAction();
  const [shown, setShown] = useState<Record<string, string>>({});
  const mayReveal = props.session.scope.includes('admin.token.reveal');
  const ref = (t: TokenRow) => ({
    platform: t.platform as Platform,
    codeName: t.codeName,
    subject: t.subject,
    kind: t.kind,
  });
  const key = (t: TokenRow) => `${t.platform}:${t.subject}:${t.kind}`;
  return (
    <Page title="Tokens">
      <Note error={tokens.error} />
      <Note {...action.note} />
      <Table
        caption="Tokens and tickets"
        rows={tokens.value?.tokens ?? tokens.error}
        empty="No token fetched yet."
        columns={[
          ['App', (t) => `${t.platform} ${t.codeName}`],
          ['Subject', (t) => <code>{t.subject}</code>],
          ['Kind', (t) => t.kind],
          ['Expires', (t) => <span class={soon(t) ? 'warn' : ''}>{ago(t.expiresAt)}</span>],
          ['Refreshed', (t) => ago(t.refreshedAt)],
          ['Last error', (t) => t.lastError ?? '—'],
          [
            'Actions',
            (t) => (
              <span class="actions">
                <button
                  type="button"
                  disabled={action.busy}
                  aria-label={`Refresh now ${t.codeName} ${t.kind}`}
                  onClick={() =>
                    void action.run(async () => {
                      await rpc('admin.token.refresh', ref(t));
                      tokens.reload();
                      return `${t.codeName} ${t.kind} refreshed.`;
                    })
                  }
                >
                  Refresh now
                </button>
                {mayReveal && (
                  <button
                    type="button"
                    aria-label={`Reveal ${t.codeName} ${t.kind}`}
                    onClick={() =>
                      void action.run(async () => {
                        const r = await rpc('admin.token.reveal', ref(t));
                        setShown({ ...shown, [key(t)]: r.value });
                        return 'Revealed (this is in the audit log).';
                      })
                    }
                  >
                    Reveal
                  </button>
                )}
                {shown[key(t)] && <code class="secret">{shown[key(t)]}</code>}
              </span>
            ),
          ],
        ]}
      />
    </Page>
  );
}

/** a QR code of `url` (an image: the page's CSP allows data: images only), with the URL under it */
function Qr(props: { label: string; url: string }) {
  const qr = qrcode(0, 'M');
  qr.addData(props.url);
  qr.make();
  return (
    <figure class="card">
      <img src={qr.createDataURL(4, 8)} alt={`QR code of the ${props.label}`} />
      <figcaption>
        {props.label}: <code>{props.url}</code>
      </figcaption>
    </figure>
  );
}

/** the WeChat third-party platforms configured, the one chosen (the first unless picked), its select */
function useTpApp() {
  const apps = useLoad(() => rpc('admin.app.list', { platform: 'wechat_tp' }));
  const [code, setCode] = useState('');
  const chosen = code || apps.value?.apps[0]?.codeName || '';
  const picker = (
    <Field label="Platform app">
      {(id) => (
        <select id={id} value={chosen} onChange={(e) => setCode(e.currentTarget.value)}>
          {apps.value?.apps.map((a) => (
            <option key={a.codeName}>{a.codeName}</option>
          ))}
        </select>
      )}
    </Field>
  );
  return { apps, chosen, picker };
}

export function ThirdParty(props: { session: Session }) {
  const { apps, chosen, picker } = useTpApp();
  const allowed = covers(props.session.scope, 'wechat.tp.authorizers');
  const authorizers = useLoad(
    () =>
      chosen && allowed ? rpc('wechat.tp.authorizers', { codeName: chosen }) : Promise.resolve({ authorizers: [] }),
    [chosen],
  );
  const action = useAction();
  const base = `../wechat-tp/${encodeURIComponent(chosen)}/authorize`;
  return (
    <Page title="Third-party platforms">
      <Note error={apps.error ?? authorizers.error} />
      {apps.value?.apps.length === 0 && <p class="muted">No wechat_tp app configured.</p>}
      {chosen && (
        <>
          {picker}
          <p>
            Authorization links: <a href={base}>PC (scan)</a> · <a href={`${base}?mode=link`}>mobile (link)</a>
          </p>
          <div class="cards">
            <Qr label="PC authorization link" url={new URL(base, location.href).href} />
            <Qr label="mobile authorization link" url={new URL(`${base}?mode=link`, location.href).href} />
          </div>
          {!allowed && <Note error="Your scope does not cover wechat.tp.authorizers: authorizers are not shown." />}
          <div class="page-head">
            <h2>Authorizers</h2>
            {allowed && (
              <button
                type="button"
                disabled={action.busy}
                onClick={() =>
                  void action.run(async () => {
                    await rpc('wechat.tp.authorizers', { codeName: chosen, sync: true });
                    authorizers.reload();
                    return 'Synced with WeChat.';
                  })
                }
              >
                Sync with WeChat
              </button>
            )}
          </div>
          <Note {...action.note} />
          <Table
            caption="Authorizers"
            rows={authorizers.value?.authorizers ?? authorizers.error}
            empty="No account has authorized this platform yet."
            columns={[
              ['Authorizer', (a) => <code>{a.authorizerAppId}</code>],
              ['State', (a) => (a.authorized ? 'authorized' : 'not authorized: re-authorization needed')],
              ['Updated', (a) => ago(a.updatedAt)],
            ]}
          />
        </>
      )}
    </Page>
  );
}

export function Pushes() {
  const [filter, setFilter] = useState({ platform: '', codeName: '', infoType: '' });
  const [applied, setApplied] = useState(filter);
  const pushes = useLoad(() => {
    const para: Record<string, unknown> = { limit: 100 };
    for (const [k, v] of Object.entries(applied)) if (v) para[k] = v;
    return rpc('admin.push.list', para);
  }, [applied]);
  const [open, setOpen] = useState<number | null>(null);
  return (
    <Page title="Pushes">
      <form
        class="filters"
        aria-label="Filter pushes"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied(filter);
        }}
      >
        {(['platform', 'codeName', 'infoType'] as const).map((k) => (
          <Input key={k} label={k} form={[filter, setFilter]} name={k} />
        ))}
        <button type="submit">Filter</button>
      </form>
      <Note error={pushes.error} />
      <Table
        caption="Pushes received"
        rows={pushes.value?.pushes ?? pushes.error}
        empty="No push received."
        columns={[
          ['At', (p) => time(p.at)],
          ['Platform', (p) => `${p.platform} ${p.codeName}`],
          ['Type', (p) => p.infoType],
          ['Account', (p) => p.appId ?? '—'],
          ['Verified', (p) => (p.verified ? 'yes' : 'no')],
          [
            'Body',
            (p) => {
              const i = pushes.value!.pushes.indexOf(p);
              return open === i ? (
                <pre>{JSON.stringify(p.body, null, 2)}</pre>
              ) : (
                <button type="button" onClick={() => setOpen(i)} aria-label={`Show push ${i + 1}`}>
                  Show
                </button>
              );
            },
          ],
        ]}
      />
    </Page>
  );
}

export function Callers() {
  const callers = useLoad(() => rpc('admin.caller.list'));
  const [form, setForm] = useState({ sub: '', scope: '', ttl: '30' });
  const [minted, setMinted] = useState('');
  const action = useAction();
  return (
    <Page title="Callers">
      <Form
        label="Mint a caller token"
        action={action}
        submit={async () => {
          const r = await rpc('admin.caller.mint', {
            sub: form.sub,
            scope: form.scope.trim().split(/\s+/).join(' '),
            ttlSeconds: Math.round(Number(form.ttl) * 86400),
          });
          setMinted(r.token);
          callers.reload();
          return 'Minted: copy the token now, it is not shown again.';
        }}
      >
        <h2>Mint a caller token</h2>
        <Input label="sub" hint="who will use it (a service name)" form={[form, setForm]} name="sub" required />
        <Input
          label="scope"
          hint="space-separated interface names or patterns, e.g. wechat.app.token"
          form={[form, setForm]}
          name="scope"
          required
        />
        <Input label="valid for (days)" form={[form, setForm]} name="ttl" type="number" min="1" max="365" />
        <button type="submit" disabled={action.busy}>
          Mint
        </button>
        <Note {...action.note} />
        {minted && (
          <p>
            <label for="minted">New token</label>
            <textarea id="minted" class="secret" readOnly rows={3} value={minted} />
          </p>
        )}
      </Form>
      <Note error={callers.error} />
      <Table
        caption="Caller tokens"
        rows={callers.value?.callers ?? callers.error}
        columns={[
          ['jti', (c) => <code>{c.jti}</code>],
          ['sub', (c) => c.sub ?? '—'],
          ['Scope', (c) => c.scope ?? '—'],
          ['Apps', (c) => (c.apps ? c.apps.join(', ') : 'all')],
          ['Expires', (c) => time(c.exp)],
          [
            'State',
            (c) =>
              c.revoked ? (
                'revoked'
              ) : (
                <button
                  type="button"
                  class="danger"
                  aria-label={`Revoke ${c.sub ?? c.jti}`}
                  onClick={() =>
                    void action.run(async () => {
                      await rpc('admin.caller.revoke', { jti: c.jti });
                      callers.reload();
                      return `${c.sub ?? c.jti} revoked.`;
                    })
                  }
                >
                  Revoke
                </button>
              ),
          ],
        ]}
      />
    </Page>
  );
}

export function Audit() {
  const audit = useLoad(() => rpc('admin.audit.list', { limit: 200 }));
  return (
    <Page title="Audit log">
      <Note error={audit.error} />
      <Table
        caption="Audit log"
        rows={audit.value?.entries ?? audit.error}
        columns={[
          ['At', (e) => time(e.at)],
          ['Who', (e) => e.actor],
          ['Via', (e) => e.via],
          ['What', (e) => <code>{e.interfaceName}</code>],
          ['On', (e) => <code>{JSON.stringify(e.target)}</code>],
          ['From', (e) => e.ip ?? '—'],
        ]}
      />
    </Page>
  );
}

const MATCH_FIELDS = ['codeName', 'appId', 'infoType', 'msgType', 'event'] as const;

export function Rules() {
  const rules = useLoad(() => rpc('admin.rule.list'));
  const blank = {
    name: '',
    platform: 'wechat_tp',
    url: '',
    format: 'json',
    retries: '3',
    codeName: '',
    appId: '',
    infoType: '',
    msgType: '',
    event: '',
  };
  const [form, setForm] = useState<Record<string, string>>(blank);
  const action = useAction();
  const set = (k: string) => (e: { currentTarget: { value: string } }) =>
    setForm({ ...form, [k]: e.currentTarget.value });
  return (
    <Page title="Forwarding rules">
      <Form
        label="New rule"
        action={action}
        submit={async () => {
          const para: Record<string, unknown> = {
            name: form.name,
            platform: form.platform,
            url: form.url,
            format: form.format,
            retries: Number(form.retries),
          };
          for (const k of MATCH_FIELDS) if (form[k]) para[k] = form[k];
          await rpc('admin.rule.put', para as Para<'admin.rule.put'>);
          setForm(blank);
          rules.reload();
          return `Rule ${form.name} saved.`;
        }}
      >
        <h2>New rule</h2>
        <Input label="Name" form={[form, setForm]} name="name" required />
        <Field label="Platform">
          {(id) => (
            <select id={id} value={form.platform} onChange={set('platform')}>
              <option>wechat_tp</option>
              <option>wecom_tp</option>
            </select>
          )}
        </Field>
        {MATCH_FIELDS.map((k) => (
          <Input
            key={k}
            label={`Match ${k}`}
            hint="exact, or a prefix ending in *; empty: any"
            form={[form, setForm]}
            name={k}
          />
        ))}
        <Input label="Deliver to (URL)" form={[form, setForm]} name="url" required type="url" />
        <Field label="Format">
          {(id) => (
            <select id={id} value={form.format} onChange={set('format')}>
              <option value="json">JSON (decrypted fields)</option>
              <option value="xml">XML (decrypted, as received)</option>
            </select>
          )}
        </Field>
        <Input label="Retries" form={[form, setForm]} name="retries" type="number" min="0" max="5" />
        <button type="submit" disabled={action.busy}>
          Save rule
        </button>
      </Form>
      <Note {...action.note} />
      <Note error={rules.error} />
      <Table
        caption="Forwarding rules"
        rows={rules.value?.rules ?? rules.error}
        empty="No rule: pushes go to authForwardUrl / msgForwardUrl only."
        columns={[
          ['Name', (r) => r.name],
          [
            'Matches',
            (r) => (
              <code>{[r.platform, ...MATCH_FIELDS.map((k) => r[k] && `${k}=${r[k]}`)].filter(Boolean).join(' ')}</code>
            ),
          ],
          ['To', (r) => <code>{r.url}</code>],
          ['As', (r) => `${r.format}, ${r.retries} retries${r.continue ? ', continues' : ''}`],
          ['Enabled', (r) => (r.enabled ? 'yes' : 'no')],
          [
            'Actions',
            (r) => (
              <span class="actions">
                <button
                  type="button"
                  aria-label={`Send a test push to ${r.name}`}
                  onClick={() =>
                    void action.run(async () => {
                      const t = await rpc('admin.rule.test', { id: r.id });
                      if (!t.delivered)
                        throw new Error(`Test push to ${r.name} failed: ${t.error ?? `HTTP ${t.status}`}`);
                      return `Test push to ${r.name} delivered (HTTP ${t.status}).`;
                    })
                  }
                >
                  Send a test push
                </button>
                <button
                  type="button"
                  class="danger"
                  aria-label={`Delete ${r.name}`}
                  onClick={() =>
                    void action.run(async () => {
                      await rpc('admin.rule.delete', { id: r.id });
                      rules.reload();
                      return `Rule ${r.name} deleted.`;
                    })
                  }
                >
                  Delete
                </button>
              </span>
            ),
          ],
        ]}
      />
    </Page>
  );
}

export function Releases() {
  const { apps: tps, chosen: tp, picker } = useTpApp();
  const authorizers = useLoad(
    () =>
      tp
        ? rpc('wechat.tp.authorizers', {
            codeName: tp,
          })
        : Promise.resolve({ authorizers: [] }),
    [tp],
  );
  const templates = useLoad(
    () => (tp ? rpc('wechat.tpauth.code.templates', { codeName: tp }) : Promise.resolve({ templates: [] })),
    [tp],
  );
  const [who, setWho] = useState('');
  const authorizer = who || authorizers.value?.authorizers.find((a) => a.authorized)?.authorizerAppId || '';
  const [commit, setCommit] = useState({ templateId: '', extJson: '{}', userVersion: '', userDesc: '' });
  const [qr, setQr] = useState('');
  const [status, setStatus] = useState('');
  const action = useAction();
  const on = { codeName: tp, authorizerAppId: authorizer };
  const step = (label: string, fn: () => Promise<string | void>) => (
    <button type="button" disabled={action.busy || !authorizer} onClick={() => void action.run(fn)}>
      {label}
    </button>
  );
  return (
    <Page title="Mini-program releases">
      <Note error={tps.error ?? authorizers.error ?? templates.error} />
      {tps.value?.apps.length === 0 && <p class="muted">No wechat_tp app configured.</p>}
      {tp && (
        <>
          <div class="filters">
            {picker}
            <Field label="Authorized mini program">
              {(id) => (
                <select id={id} value={authorizer} onChange={(e) => setWho(e.currentTarget.value)}>
                  {authorizers.value?.authorizers
                    .filter((a) => a.authorized)
                    .map((a) => (
                      <option key={a.authorizerAppId}>{a.authorizerAppId}</option>
                    ))}
                </select>
              )}
            </Field>
          </div>
          <Form
            label="Upload a template version"
            action={action}
            submit={async () => {
              await rpc('wechat.tpauth.code.commit', {
                ...on,
                templateId: Number(commit.templateId),
                extJson: JSON.parse(commit.extJson) as Record<string, unknown>,
                userVersion: commit.userVersion,
                userDesc: commit.userDesc,
              });
              return `Version ${commit.userVersion} uploaded as the trial version.`;
            }}
          >
            <h2>1. Upload a template version</h2>
            <Field label="Template">
              {(id) => (
                <select
                  id={id}
                  required
                  value={commit.templateId}
                  onChange={(e) => setCommit({ ...commit, templateId: e.currentTarget.value })}
                >
                  <option value="">—</option>
                  {templates.value?.templates.map((t) => (
                    <option key={t.templateId} value={String(t.templateId)}>
                      {t.templateId}: {t.userVersion} {t.userDesc}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Input label="ext.json" hint="a JSON object" form={[commit, setCommit]} name="extJson" rows={3} />
            <Input label="Version" form={[commit, setCommit]} name="userVersion" required />
            <Input label="Description" form={[commit, setCommit]} name="userDesc" required />
            <button type="submit" disabled={action.busy || !authorizer}>
              Upload
            </button>
          </Form>
          <h2>2. Try, audit, release</h2>
          <p class="actions">
            {step('Trial QR code', async () => {
              const r = await rpc('wechat.tpauth.code.qrcode', on);
              setQr(`data:${r.contentType};base64,${r.image}`);
              return 'Scan it with WeChat to try the trial version.';
            })}
            {step('Submit for audit', async () => {
              const r = await rpc('wechat.tpauth.code.submit', on);
              return `Submitted: audit ${r.auditId}.`;
            })}
            {step('Audit status', async () => {
              const r = await rpc('wechat.tpauth.code.status', on);
              setStatus(`${r.state}${r.auditId ? ` (audit ${r.auditId})` : ''}${r.reason ? `: ${r.reason}` : ''}`);
            })}
            {step('Release', async () => {
              await rpc('wechat.tpauth.code.release', on);
              return 'Released.';
            })}
            {step('Roll back', async () => {
              if (!window.confirm('Roll the live version back?')) return 'Not rolled back.';
              await rpc('wechat.tpauth.code.rollback', on);
              return 'Rolled back to the previous version.';
            })}
          </p>
          <Note {...action.note} />
          {status && <p role="status">Audit status: {status}</p>}
          {qr && <img src={qr} alt={`Trial version QR code of ${authorizer}`} width={200} height={200} />}
        </>
      )}
    </Page>
  );
}
