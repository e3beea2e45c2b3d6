'use client';

import { signOut } from 'next-auth/react';
import { useState } from 'react';

/** Ends the session (next-auth's CSRF-checked POST) and returns to /login. */
export function SignOutButton({ className = '' }: { className?: string }) {
  const [pending, setPending] = useState(false);
  return (
    <button
      type="button"
      disabled={pending}
      onClick={() => {
        setPending(true);
        signOut({ callbackUrl: '/login' }).catch(() => setPending(false));
      }}
      className={`focus-visible:ring-brand/50 rounded-md border border-zinc-300 px-3 py-1 text-sm hover:bg-zinc-100 focus-visible:ring-2 focus-visible:outline-none disabled:opacity-60 dark:border-zinc-700 dark:hover:bg-zinc-800 ${className}`}
    >
      Sign out
    </button>
  );
}
