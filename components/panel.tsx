import type { ReactNode } from 'react';

export function Panel({
  title,
  children,
  testId,
  className = '',
}: {
  title: string;
  children: ReactNode;
  testId?: string;
  /** Grid placement from the page, e.g. `md:col-span-2`. */
  className?: string;
}) {
  return (
    <section
      aria-label={title}
      data-testid={testId}
      className={`min-w-0 rounded-lg border border-zinc-200 bg-white p-4 shadow-sm dark:border-zinc-800 dark:bg-zinc-900 ${className}`}
    >
      <h2 className="mb-3 text-sm font-semibold tracking-wide text-zinc-500 uppercase dark:text-zinc-400">{title}</h2>
      {children}
    </section>
  );
}

export function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="flex justify-between gap-4 py-1 text-sm">
      <dt className="shrink-0 whitespace-nowrap text-zinc-500 dark:text-zinc-400">{label}</dt>
      <dd className="min-w-0 text-right font-mono wrap-anywhere">{children}</dd>
    </div>
  );
}

export function StatusBadge({ ok, children }: { ok: boolean; children: ReactNode }) {
  return (
    <span
      className={`inline-flex items-center gap-1 rounded-full px-2 py-0.5 text-xs font-medium ${
        ok
          ? 'bg-green-100 text-green-800 dark:bg-green-900/40 dark:text-green-300'
          : 'bg-red-100 text-red-800 dark:bg-red-900/40 dark:text-red-300'
      }`}
    >
      {children}
    </span>
  );
}
