import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { Refused } from './api';

/** loads once (and again on `reload`): the value, or the error, while `loading` says which */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[] = []) {
  const [state, setState] = useState<{ value?: T; error?: string; loading: boolean }>({ loading: true });
  const reload = useCallback(() => {
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (value) => setState({ value, loading: false }),
      (err: unknown) => setState({ error: messageOf(err), loading: false }),
    );
  }, deps);
  useEffect(reload, [reload]);
  return { ...state, reload };
}

export const messageOf = (err: unknown) => (err instanceof Refused || err instanceof Error ? err.message : String(err));

export function Page(props: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  useEffect(() => {
    document.title = `${props.title} · gatehouse`;
  }, [props.title]);
  return (
    <section aria-labelledby="page-title">
      <header class="page-head">
        <h1 id="page-title">{props.title}</h1>
        {props.actions}
      </header>
      {props.children}
    </section>
  );
}

export function Note(props: { error?: string; ok?: string }) {
  if (props.error)
    return (
      <p class="note error" role="alert">
        {props.error}
      </p>
    );
  if (props.ok)
    return (
      <p class="note ok" role="status">
        {props.ok}
      </p>
    );
  return null;
}

export function Table<R>(props: {
  caption: string;
  /** the rows; undefined while they load; a string when they could not be loaded (the page says why) */
  rows: R[] | string | undefined;
  columns: [string, (r: R) => ComponentChildren][];
  empty?: string;
}) {
  if (typeof props.rows === 'string') return null;
  if (!props.rows) return <p aria-busy="true">Loading…</p>;
  if (props.rows.length === 0) return <p class="muted">{props.empty ?? `No ${props.caption.toLowerCase()} yet.`}</p>;
  return (
    <div class="table-wrap" role="region" aria-label={props.caption} tabIndex={0}>
      <table>
        <caption class="sr-only">{props.caption}</caption>
        <thead>
          <tr>
            {props.columns.map(([h]) => (
              <th scope="col" key={h}>
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.map((r, i) => (
            <tr key={i}>
              {props.columns.map(([h, cell]) => (
                <td key={h}>{cell(r)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

let ids = 0;
/** a labelled form control */
export function Field(props: { label: string; hint?: string; children: (id: string) => ComponentChildren }) {
  const [id] = useState(() => `f${++ids}`);
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      {props.children(id)}
      {props.hint && <small class="muted">{props.hint}</small>}
    </div>
  );
}

/**
 * A labelled text input (or textarea, with `rows`) bound to the string field `name` of a form's
 * state `[value, set]`.
 */
export function Input<F extends Record<string, string>>(props: {
  label: string;
  hint?: string;
  form: [F, (f: F) => void];
  name: keyof F & string;
  type?: string;
  required?: boolean;
  autocomplete?: string;
  min?: string;
  max?: string;
  rows?: number;
}) {
  const { form, name, rows, label, hint, ...attrs } = props;
  const [value, set] = form;
  const onInput = (e: { currentTarget: { value: string } }) => set({ ...value, [name]: e.currentTarget.value });
  return (
    <Field label={label} hint={hint}>
      {(id) =>
        rows ? (
          <textarea id={id} rows={rows} required={attrs.required} value={value[name]} onInput={onInput} />
        ) : (
          <input id={id} {...attrs} value={value[name]} onInput={onInput} />
        )
      }
    </Field>
  );
}

/** a form that runs `submit` as `action` (its busy flag, its outcome note) when sent */
export function Form(props: {
  label: string;
  action: ReturnType<typeof useAction>;
  submit: () => Promise<string | void>;
  plain?: boolean;
  children: ComponentChildren;
}) {
  return (
    <form
      class={props.plain ? undefined : 'panel'}
      aria-label={props.label}
      onSubmit={(e) => {
        e.preventDefault();
        void props.action.run(props.submit);
      }}
    >
      {props.children}
    </form>
  );
}

/** runs an action with a busy flag and its outcome as a note */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<{ error?: string; ok?: string }>({});
  const run = async (fn: () => Promise<string | void>) => {
    setBusy(true);
    setNote({});
    try {
      const ok = await fn();
      setNote({ ok: ok || undefined });
    } catch (err) {
      setNote({ error: messageOf(err) });
    } finally {
      setBusy(false);
    }
  };
  return { busy, note, run };
}
