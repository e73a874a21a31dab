import { useId, type ReactNode } from 'react';
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
