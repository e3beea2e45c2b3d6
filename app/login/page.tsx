import type { Metadata } from 'next';
import { redirect } from 'next/navigation';
import { LoginForm } from '@/components/login-form';
import { safeCallbackPath } from '@/server/auth/callback-url';
import { authState } from '@/server/auth/options';
import { currentSessionUser } from '@/server/auth/session';

export const dynamic = 'force-dynamic';
export const metadata: Metadata = { title: 'Sign in · pipeops-agent' };

// Only next-auth's own codes are shown from the URL, so a crafted link cannot put arbitrary text on the page.
const knownErrors: Record<string, string> = {
  CredentialsSignin: 'Invalid username or password',
  SessionRequired: 'Sign in to continue',
  AccessDenied: 'Access denied',
};

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function usersNotice(): string | undefined {
  const snapshot = authState().store.snapshot();
  if (snapshot.users.size > 0) return undefined;
  return snapshot.error?.startsWith('no dashboard users configured')
    ? 'No dashboard users are configured on the server (PIPEOPS_DASHBOARD_USERS_FILE), so nobody can sign in.'
    : 'The dashboard users file on the server is invalid, so nobody can sign in. The server log names the problem.';
}

export default async function LoginPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const params = await searchParams;
  const callbackUrl = safeCallbackPath(params.callbackUrl);
  if (await currentSessionUser()) redirect(callbackUrl);
  const errorCode = first(params.error);
  const initialError = errorCode ? (knownErrors[errorCode] ?? 'Sign-in failed: try again') : undefined;
  const notice = usersNotice();
  return (
    <main className="flex min-h-screen items-center justify-center p-4">
      <section
        aria-labelledby="login-title"
        className="w-full max-w-sm rounded-lg border border-zinc-200 bg-white p-6 shadow-sm dark:border-zinc-800 dark:bg-zinc-900"
      >
        <h1 id="login-title" className="mb-1 text-xl font-bold">
          pipeops-agent
        </h1>
        <p className="mb-6 text-sm text-zinc-500 dark:text-zinc-400">Sign in to the operations dashboard</p>
        {notice ? (
          <p
            role="status"
            className="mb-4 rounded-md bg-amber-100 p-3 text-sm text-amber-900 dark:bg-amber-900/40 dark:text-amber-200"
          >
            {notice}
          </p>
        ) : null}
        <LoginForm callbackUrl={callbackUrl} initialError={initialError} />
      </section>
    </main>
  );
}
