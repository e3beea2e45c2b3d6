import { useId, type ButtonHTMLAttributes, type ReactNode } from 'react';
import { formatTime } from './format';
import type { ActionGate } from './permissions';

const base =
  'inline-flex items-center justify-center gap-1 rounded-md px-2.5 py-1 text-sm font-medium whitespace-nowrap ' +
  'focus-visible:ring-2 focus-visible:ring-brand/60 focus-visible:ring-offset-1 focus-visible:outline-none ' +
  'dark:focus-visible:ring-offset-zinc-900 disabled:cursor-not-allowed disabled:opacity-50';

const variants = {
  primary: 'bg-brand text-white hover:bg-brand/90',
  secondary:
    'border border-zinc-300 bg-white hover:bg-zinc-100 dark:border-zinc-700 dark:bg-zinc-900 dark:hover:bg-zinc-800',
  danger: 'bg-red-600 text-white hover:bg-red-700',
};

export type Variant = keyof typeof variants;

export function buttonClass(variant: Variant = 'secondary'): string {
  return `${base} ${variants[variant]}`;
}

export function Button({
  variant = 'secondary',
  className = '',
  ...props
}: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: Variant }) {
  return <button type="button" className={`${buttonClass(variant)} ${className}`} {...props} />;
}

/** A button that is disabled with its reason as tooltip and as an accessible description. */
export function GatedButton({
  gate,
  children,
  onClick,
}: {
  gate: ActionGate;
  children: ReactNode;
  onClick: () => void;
}) {
  const reasonId = useId();
  return (
    <>
      <Button
        disabled={!gate.enabled}
        title={gate.reason}
        aria-describedby={gate.reason ? reasonId : undefined}
        onClick={onClick}
      >
        {children}
      </Button>
      {gate.reason ? (
        <span id={reasonId} className="sr-only">
          {gate.reason}
        </span>
      ) : null}
    </>
  );
}

export type Tone = 'ok' | 'warn' | 'bad' | 'neutral' | 'info';

const tones: Record<Tone, string> = {
  ok: 'bg-green-100 text-green-800 dark:bg-green-900/40 dark:text-green-300',
  warn: 'bg-amber-100 text-amber-900 dark:bg-amber-900/40 dark:text-amber-200',
  bad: 'bg-red-100 text-red-800 dark:bg-red-900/40 dark:text-red-300',
  neutral: 'bg-zinc-200 text-zinc-800 dark:bg-zinc-800 dark:text-zinc-200',
  info: 'bg-blue-100 text-blue-800 dark:bg-blue-900/40 dark:text-blue-200',
};

export function Badge({ tone, children }: { tone: Tone; children: ReactNode }) {
  return (
    <span
      className={`inline-flex items-center rounded-full px-2 py-0.5 text-xs font-medium whitespace-nowrap ${tones[tone]}`}
    >
      {children}
    </span>
  );
}

/** Error or success text; `role` makes screen readers announce it when it appears. */
export function Notice({ tone, children }: { tone: 'bad' | 'ok' | 'warn'; children: ReactNode }) {
  return (
    <p role={tone === 'bad' ? 'alert' : 'status'} className={`rounded-md p-2 text-sm ${tones[tone]}`}>
      {children}
    </p>
  );
}

/** Cells do not wrap (cells opt in with whitespace-normal); the table scrolls sideways on narrow screens. */
export function Table({ label, head, children }: { label: string; head: string[]; children: ReactNode }) {
  return (
    // relative: the sr-only reasons are absolutely positioned and would otherwise widen the page.
    <div className="relative -mx-4 overflow-x-auto px-4">
      <table aria-label={label} className="w-full border-collapse text-left text-sm whitespace-nowrap">
        <thead>
          <tr className="border-b border-zinc-200 text-xs text-zinc-500 uppercase dark:border-zinc-800 dark:text-zinc-400">
            {head.map((title) => (
              <th key={title} scope="col" className="px-2 py-2 font-medium">
                {title}
              </th>
            ))}
          </tr>
        </thead>
        <tbody className="divide-y divide-zinc-100 dark:divide-zinc-800">{children}</tbody>
      </table>
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="text-sm text-zinc-500 dark:text-zinc-400">{children}</p>;
}

export function Time({ iso }: { iso: string | undefined }) {
  return iso ? <time dateTime={iso}>{formatTime(iso)}</time> : <>—</>;
}
