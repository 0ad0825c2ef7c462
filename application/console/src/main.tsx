import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import './style.css';
import { currentSession, signIn, signOut, time, type Session } from './api';
import { Apps, Audit, Callers, Overview, Pushes, Releases, Rules, ThirdParty, Tokens } from './pages';
import { Form, Input, Note, useAction } from './ui';

const PAGES = [
  ['overview', 'Overview'],
  ['apps', 'Apps'],
  ['tokens', 'Tokens'],
  ['third-party', 'Third-party'],
  ['releases', 'Releases'],
  ['pushes', 'Pushes'],
  ['rules', 'Rules'],
  ['callers', 'Callers'],
  ['audit', 'Audit log'],
] as const;
type PageName = (typeof PAGES)[number][0];

const pageOf = (): PageName => {
  const h = location.hash.replace(/^#\/?/, '');
  return (PAGES.find(([p]) => p === h)?.[0] ?? 'overview') as PageName;
};

function SignIn(props: { onIn: (s: Session) => void }) {
  const [mode, setMode] = useState<'operator' | 'token'>('operator');
  const [form, setForm] = useState({ operator: '', password: '', token: '' });
  const action = useAction();
  return (
    <main class="signin">
      <h1>gatehouse console</h1>
      <Form
        label="Sign in"
        plain
        action={action}
        submit={async () => {
          const body =
            mode === 'operator' ? { operator: form.operator, password: form.password } : { token: form.token };
          props.onIn(await signIn(body));
        }}
      >
        <fieldset>
          <legend>Sign in with</legend>
          <label>
            <input type="radio" name="mode" checked={mode === 'operator'} onChange={() => setMode('operator')} /> an
            operator account
          </label>
          <label>
            <input type="radio" name="mode" checked={mode === 'token'} onChange={() => setMode('token')} /> a caller
            token
          </label>
        </fieldset>
        {mode === 'operator' ? (
          <>
            <Input label="Operator" form={[form, setForm]} name="operator" required autocomplete="username" />
            <Input
              label="Password"
              form={[form, setForm]}
              name="password"
              required
              type="password"
              autocomplete="current-password"
            />
          </>
        ) : (
          <Input
            label="Caller token"
            hint="its scope must cover admin interfaces"
            form={[form, setForm]}
            name="token"
            required
            rows={4}
          />
        )}
        <button type="submit" disabled={action.busy}>
          Sign in
        </button>
        <Note error={action.note.error && 'Sign-in refused: check the name and password (or the token).'} />
      </Form>
    </main>
  );
}

function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [page, setPage] = useState<PageName>(pageOf());
  useEffect(() => {
    currentSession().then(setSession, () => setSession(null));
    const onHash = () => setPage(pageOf());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  if (session === undefined) return <p aria-busy="true">Loading…</p>;
  if (session === null) return <SignIn onIn={setSession} />;
  const body = {
    overview: <Overview />,
    apps: <Apps />,
    tokens: <Tokens session={session} />,
    'third-party': <ThirdParty session={session} />,
    releases: <Releases />,
    pushes: <Pushes />,
    rules: <Rules />,
    callers: <Callers />,
    audit: <Audit />,
  }[page];
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">gatehouse</span>
        <nav aria-label="Pages">
          {PAGES.map(([p, label]) => (
            <a key={p} href={`#/${p}`} aria-current={p === page ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <span class="who">
          {session.sub.replace(/^console:/, '')} · until {time(session.expiresAt).slice(11, 16)}
          <button type="button" onClick={() => void signOut().then(() => setSession(null))}>
            Sign out
          </button>
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        {body}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
