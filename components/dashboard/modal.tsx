'use client';

import { useEffect, useId, useRef, type FormEvent, type KeyboardEvent, type ReactNode } from 'react';
import { Button, Notice, type Variant } from './ui';

export interface ModalProps {
  title: string;
  children: ReactNode;
  onClose: () => void;
  /** Runs on Confirm (form submit, so Enter in an input confirms too). */
  onConfirm: () => void;
  confirmVariant?: Variant;
  pending?: boolean;
  confirmDisabled?: boolean;
  error?: string;
}

const focusable = 'button:not(:disabled), input:not(:disabled), textarea:not(:disabled), select, a[href], summary';

/** showModal() still lets Tab leave the page for the browser's toolbar; keep it cycling inside the dialog. */
function trapTab(event: KeyboardEvent<HTMLDialogElement>): void {
  if (event.key !== 'Tab') return;
  const items = [...event.currentTarget.querySelectorAll<HTMLElement>(focusable)];
  const first = items[0];
  const last = items.at(-1);
  if (!first || !last) return;
  if (event.shiftKey && document.activeElement === first) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && document.activeElement === last) {
    event.preventDefault();
    first.focus();
  }
}

/**
 * A modal `<dialog>` opened with showModal(): the browser makes the page behind it inert
 * and turns Escape into a `cancel`. Mount it to open it; unmounting returns focus to the opener.
 */
export function Modal({
  title,
  children,
  onClose,
  onConfirm,
  confirmVariant = 'primary',
  pending,
  confirmDisabled,
  error,
}: ModalProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();

  useEffect(() => {
    const dialog = ref.current;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    dialog?.showModal();
    return () => {
      dialog?.close();
      opener?.focus();
    };
  }, []);

  function submit(event: FormEvent<HTMLFormElement>): void {
    event.preventDefault();
    if (!pending && !confirmDisabled) onConfirm();
  }

  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      onKeyDown={trapTab}
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
      className="m-auto w-[min(32rem,calc(100vw-2rem))] rounded-lg border border-zinc-200 bg-white p-0 text-zinc-900 shadow-xl backdrop:bg-black/50 dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-100"
    >
      {/* noValidate: min/max are hints; the server decides and its message is shown. */}
      <form onSubmit={submit} noValidate className="space-y-4 p-5">
        <h2 id={titleId} className="text-lg font-semibold">
          {title}
        </h2>
        <div className="space-y-3 text-sm">{children}</div>
        {error ? <Notice tone="bad">{error}</Notice> : null}
        <div className="flex justify-end gap-2">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant={confirmVariant} disabled={pending || confirmDisabled}>
            {pending ? 'Working…' : 'Confirm'}
          </Button>
        </div>
      </form>
    </dialog>
  );
}
