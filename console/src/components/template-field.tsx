import { useId, useRef, useState, type ChangeEvent, type KeyboardEvent } from 'react';
import type { FieldA11y } from './ui';

export interface Variable {
  variable: string;
  description: string;
  example: string;
}

interface Picking {
  /** where the trigger (`/`, `__`, or nothing when opened by the button) starts */
  start: number;
  /** what the trigger's characters are replaced by: the trigger's own length */
  triggerLength: number;
  active: number;
}

/**
 * A template input (one line, or several) with the variable picker of the reference product: typing `/`, or
 * `__` where a variable may start, opens a list of the variables filtered by what follows; arrows move,
 * Enter or Tab inserts `__VARIABLE__`, Escape closes. It is an ARIA combobox, so screen readers announce
 * the list and the option in focus; the "Insert variable" button opens the same list without typing.
 */
export function TemplateField({
  a11y,
  value,
  onChange,
  variables,
  multiline,
  placeholder,
}: {
  a11y: FieldA11y;
  value: string;
  onChange: (value: string) => void;
  variables: readonly Variable[];
  multiline?: boolean;
  placeholder?: string;
}) {
  const listId = useId();
  const ref = useRef<HTMLInputElement & HTMLTextAreaElement>(null);
  const [picking, setPicking] = useState<Picking | null>(null);
  const [caret, setCaret] = useState(0);

  const query = picking ? value.slice(picking.start + picking.triggerLength, caret) : '';
  const matches = picking ? variables.filter((v) => v.variable.replace(/_/g, '').toLowerCase().includes(query.replace(/_/g, '').toLowerCase())) : [];
  const open = !!picking;

  const insert = (v: Variable) => {
    if (!picking) return;
    const before = value.slice(0, picking.start);
    const after = value.slice(caret);
    const next = `${before}${v.variable}${after}`;
    onChange(next);
    setPicking(null);
    const at = before.length + v.variable.length;
    requestAnimationFrame(() => {
      ref.current?.focus();
      ref.current?.setSelectionRange(at, at);
      setCaret(at);
    });
  };

  const changed = (e: ChangeEvent<HTMLInputElement | HTMLTextAreaElement>) => {
    const el = e.target;
    const text = el.value;
    const at = el.selectionStart ?? text.length;
    const typed = (e.nativeEvent as InputEvent).data;
    onChange(text);
    setCaret(at);
    if (typed === '/') return setPicking({ start: at - 1, triggerLength: 1, active: 0 });
    // `__` opens the list where a variable starts, not where one ends (`__EMAIL__`'s closing underscores).
    if (typed === '_' && text.slice(at - 2, at) === '__' && !/[A-Za-z0-9]/.test(text.charAt(at - 3))) return setPicking({ start: at - 2, triggerLength: 2, active: 0 });
    if (picking) {
      const q = text.slice(picking.start + picking.triggerLength, at);
      if (at < picking.start + picking.triggerLength || !/^[A-Za-z0-9_]*$/.test(q)) setPicking(null);
      else setPicking({ ...picking, active: 0 });
    }
  };

  const keyDown = (e: KeyboardEvent) => {
    if (!picking) return;
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      setPicking(null);
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const n = matches.length || 1;
      setPicking({ ...picking, active: (picking.active + (e.key === 'ArrowDown' ? 1 : n - 1)) % n });
    } else if ((e.key === 'Enter' || e.key === 'Tab') && matches.length) {
      e.preventDefault();
      insert(matches[Math.min(picking.active, matches.length - 1)]!);
    }
  };

  const openByButton = () => {
    const at = ref.current?.selectionStart ?? value.length;
    setCaret(at);
    setPicking({ start: at, triggerLength: 0, active: 0 });
    ref.current?.focus();
  };

  const activeId = open && matches.length ? `${listId}-${Math.min(picking!.active, matches.length - 1)}` : undefined;
  const common = {
    ...a11y,
    ref,
    value,
    placeholder,
    spellCheck: false,
    autoComplete: 'off',
    role: 'combobox',
    'aria-autocomplete': 'list' as const,
    'aria-expanded': open,
    'aria-controls': listId,
    'aria-activedescendant': activeId,
    onChange: changed,
    onKeyDown: keyDown,
    onSelect: (e: { currentTarget: HTMLInputElement | HTMLTextAreaElement }) => setCaret(e.currentTarget.selectionStart ?? 0),
    onBlur: () => setPicking(null),
  };
  return (
    <div className="template-field">
      <div className="template-field__control">
        {multiline ? <textarea rows={5} {...common} /> : <input type="text" {...common} />}
        <button type="button" className="button button--small button--ghost template-field__insert" onMouseDown={(e) => e.preventDefault()} onClick={openByButton}>
          Insert variable
        </button>
      </div>
      <ul id={listId} role="listbox" aria-label="Template variables" className="picker" hidden={!open}>
        {open && !matches.length && <li className="picker__none">No variable matches “{query}”. Escape closes this list.</li>}
        {matches.map((v, i) => (
          <li
            key={v.variable}
            id={`${listId}-${i}`}
            role="option"
            aria-selected={i === Math.min(picking?.active ?? 0, matches.length - 1)}
            className="picker__option"
            onMouseDown={(e) => {
              e.preventDefault();
              insert(v);
            }}
          >
            <code>{v.variable}</code>
            <span className="picker__description">{v.description}</span>
            <span className="picker__example">e.g. {v.example}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}
