import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import type { Problem } from '../api/client';

export interface FieldA11y {
  id: string;
  'aria-describedby'?: string;
  'aria-invalid'?: true;
}

/**
 * A labelled control with its hint and its error: the error is the API's own words for this field
 * (problem+json `errors[].field`), shown next to it and announced with it.
 */
export function Field({ label, hint, error, children, optional }: { label: ReactNode; hint?: ReactNode; error?: string; optional?: boolean; children: (a11y: FieldA11y) => ReactNode }) {
  const id = useId();
  const hintId = hint ? `${id}-hint` : undefined;
  const errorId = error ? `${id}-error` : undefined;
  const describedBy = [hintId, errorId].filter(Boolean).join(' ') || undefined;
  return (
    <div className={`field${error ? ' field--invalid' : ''}`}>
      <label htmlFor={id}>
        {label}
        {optional && <span className="optional"> (optional)</span>}
      </label>
      {children({ id, 'aria-describedby': describedBy, ...(error ? { 'aria-invalid': true as const } : {}) })}
      {hint && (
        <div className="hint" id={hintId}>
          {hint}
        </div>
      )}
      {error && (
        <div className="error" id={errorId}>
          {error}
        </div>
      )}
    </div>
  );
}

/** A problem that names no field on the page: its title and the API's detail, announced. */
export function ProblemBanner({ problem, children }: { problem: Problem | null | undefined; children?: ReactNode }) {
  if (!problem) return null;
  return (
    <div className="banner banner--error" role="alert">
      <strong>{problem.title || 'Something went wrong'}</strong>
      <p>{problem.detail}</p>
      {children}
    </div>
  );
}

export function Notice({ tone = 'info', children, title }: { tone?: 'info' | 'success' | 'warning'; title?: ReactNode; children?: ReactNode }) {
  return (
    <div className={`banner banner--${tone}`} role="status">
      {title && <strong>{title}</strong>}
      {children && <div>{children}</div>}
    </div>
  );
}

export type Tone = 'good' | 'warn' | 'bad' | 'neutral' | 'info';
export function Badge({ tone, children }: { tone: Tone; children: ReactNode }) {
  return <span className={`badge badge--${tone}`}>{children}</span>;
}

export function Empty({ title, children }: { title: ReactNode; children?: ReactNode }) {
  return (
    <div className="empty">
      <p className="empty__title">{title}</p>
      {children && <div className="empty__body">{children}</div>}
    </div>
  );
}

const units: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1_000],
];
const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
/** A time as people read it ("3 minutes ago"), the exact UTC time on hover and for screen readers. */
export function Time({ value, empty = '—' }: { value: string | null | undefined; empty?: string }) {
  if (!value) return <span className="muted">{empty}</span>;
  const at = new Date(value);
  const diff = at.getTime() - Date.now();
  const [unit, ms] = units.find(([, ms]) => Math.abs(diff) >= ms) ?? units[units.length - 1]!;
  const exact = at.toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
  return (
    <time dateTime={value} title={exact}>
      {relative.format(Math.round(diff / ms), unit)}
    </time>
  );
}

export function PageHeader({ title, children, subtitle }: { title: ReactNode; subtitle?: ReactNode; children?: ReactNode }) {
  return (
    <header className="page-header">
      <div>
        <h1>{title}</h1>
        {subtitle && <p className="page-header__subtitle">{subtitle}</p>}
      </div>
      {children && <div className="page-header__actions">{children}</div>}
    </header>
  );
}

/** Why an action is off, said to everyone (not only on hover). */
export function NeedsScope({ scope }: { scope: string }) {
  return <span className="muted small">needs a token with scope {scope}</span>;
}

export const externalLink = { target: '_blank', rel: 'noreferrer noopener' } as const;

/**
 * Copies a value to the clipboard and says so (announced); where the browser refuses, it says to select and
 * copy by hand instead of failing silently.
 */
export function CopyButton({ value, label }: { value: string; label: string }) {
  const [said, setSaid] = useState<string | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setSaid('Copied');
    } catch {
      setSaid('Could not copy: select the text and copy it');
    }
  };
  return (
    <span className="copy">
      <button type="button" className="button button--small" onClick={copy}>
        Copy<span className="visually-hidden"> {label}</span>
      </button>
      <span role="status" className="muted small">
        {said}
      </span>
    </span>
  );
}

/** A value to paste elsewhere (a URL, a key, a secret): shown whole, selectable, with a copy button. */
export function CopyValue({ label, value, multiline, hint }: { label: string; value: string; multiline?: boolean; hint?: ReactNode }) {
  return (
    <Field label={label} hint={hint}>
      {(a11y) => (
        <div className="copy-value">
          {multiline ? <textarea {...a11y} readOnly value={value} rows={value.split('\n').length} className="mono" spellCheck={false} /> : <input {...a11y} type="text" readOnly value={value} className="mono" />}
          <CopyButton value={value} label={label} />
        </div>
      )}
    </Field>
  );
}

/**
 * A modal question before an action that cannot be undone: the browser's own <dialog> (focus kept inside,
 * Escape cancels, the page behind inert), labelled by its title.
 */
export function ConfirmDialog({ title, children, confirm, busy, onConfirm, onCancel, danger = true }: { title: string; children: ReactNode; confirm: string; busy?: boolean; danger?: boolean; onConfirm: () => void; onCancel: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);
  return (
    <dialog
      ref={ref}
      className="dialog"
      aria-labelledby={`${id}-title`}
      onCancel={(e) => {
        e.preventDefault();
        if (!busy) onCancel();
      }}
    >
      <h2 id={`${id}-title`}>{title}</h2>
      <div className="dialog__body">{children}</div>
      <div className="form-actions">
        <button type="button" className={`button ${danger ? 'button--danger' : 'button--primary'}`} disabled={busy} onClick={onConfirm}>
          {confirm}
        </button>
        <button type="button" className="button" disabled={busy} onClick={onCancel} autoFocus>
          Cancel
        </button>
      </div>
    </dialog>
  );
}
