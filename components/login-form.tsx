'use client';

import { signIn } from 'next-auth/react';
import { useState, type FormEvent } from 'react';

export interface LoginFormProps {
  /** Already checked on the server to be a same-origin relative path. */
  callbackUrl: string;
  initialError?: string;
}

const inputClass =
  'mt-1 block w-full rounded-md border border-zinc-300 bg-white px-3 py-2 text-zinc-900 shadow-sm ' +
  'focus:border-brand focus:ring-2 focus:ring-brand/40 focus:outline-none ' +
  'dark:border-zinc-700 dark:bg-zinc-950 dark:text-zinc-100';

function describeError(error: string | null | undefined): string {
  if (!error || error === 'CredentialsSignin') return 'Invalid username or password';
  return error;
}

export function LoginForm({ callbackUrl, initialError }: LoginFormProps) {
  const [error, setError] = useState<string | undefined>(initialError);
  const [pending, setPending] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>): Promise<void> {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setPending(true);
    setError(undefined);
    try {
      const result = await signIn('credentials', {
        redirect: false,
        username: String(form.get('username') ?? ''),
        password: String(form.get('password') ?? ''),
        callbackUrl,
      });
      if (result?.ok && !result.error) {
        // A full navigation so the server renders the page with the new session cookie.
        window.location.assign(callbackUrl);
        return;
      }
      setError(describeError(result?.error));
    } catch {
      setError('Cannot reach the server: check the connection (or the port-forward) and try again');
    }
    setPending(false);
  }

  return (
    <form onSubmit={(event) => void submit(event)} className="space-y-4" aria-describedby="login-error" noValidate>
      <div>
        <label htmlFor="login-username" className="block text-sm font-medium">
          Username
        </label>
        <input
          id="login-username"
          name="username"
          type="text"
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          required
          autoFocus
          className={inputClass}
        />
      </div>
      <div>
        <label htmlFor="login-password" className="block text-sm font-medium">
          Password
        </label>
        <input
          id="login-password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          className={inputClass}
        />
      </div>
      <p id="login-error" role="alert" className="text-bad min-h-5 text-sm" data-testid="login-error">
        {error}
      </p>
      <button
        type="submit"
        disabled={pending}
        aria-busy={pending}
        className="bg-brand hover:bg-brand/90 focus-visible:ring-brand/50 w-full rounded-md px-4 py-2 font-medium text-white focus-visible:ring-2 focus-visible:ring-offset-2 focus-visible:outline-none disabled:opacity-60 dark:focus-visible:ring-offset-zinc-900"
      >
        Sign in
      </button>
    </form>
  );
}
