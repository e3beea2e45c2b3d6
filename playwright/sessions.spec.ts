import { randomUUID } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { encode } from 'next-auth/jwt';
import { expect, test, type APIRequestContext } from '@playwright/test';
import { e2eBaseUrl, e2eSessionSecret, e2eUsers, e2eUsersFile } from './e2e-env';
import { signInOverHttp } from './sign-in';

/**
 * Issue 13, finding 6: a session was a stateless JWT without an absolute lifetime, and signing out left the
 * old cookie working. Against the production build: sign-out ends the session (API and open SSE stream),
 * a token past its absolute lifetime or idle timeout is refused, and raising session_version ends a session.
 */
const cookieName = 'next-auth.session-token';
const minute = 60_000;

async function signIn(): Promise<{ context: APIRequestContext; cookie: string }> {
  const context = await signInOverHttp('admin');
  const cookie = (await context.storageState()).cookies.find((entry) => entry.name === cookieName);
  expect(cookie, 'session cookie').toBeDefined();
  return { context, cookie: cookie!.value };
}

/** GET /api/dashboard with only the given session cookie (a fresh client, like a copied cookie would be). */
async function dashboardStatus(cookie: string): Promise<number> {
  const response = await fetch(`${e2eBaseUrl}/api/dashboard`, { headers: { Cookie: `${cookieName}=${cookie}` } });
  await response.body?.cancel();
  return response.status;
}

/** Reads an SSE stream until the server ends it; resolves with how long that took. */
async function untilStreamEnds(response: Response): Promise<number> {
  const started = performance.now();
  const reader = response.body!.getReader();
  for (;;) {
    const { done } = await reader.read();
    if (done) return performance.now() - started;
  }
}

async function forgedCookie(claims: { signedInAt: number; lastSeenAt: number }): Promise<string> {
  return encode({
    secret: e2eSessionSecret(),
    token: { name: e2eUsers.admin.username, role: 'admin', sid: randomUUID(), sessionVersion: 0, ...claims },
  });
}

/** Rewrites the users file the way a Secret update does (a new inode), with admin's session_version. */
function setAdminSessionVersion(version: number): void {
  const file = e2eUsersFile();
  const text = readFileSync(file, 'utf8').replace(/ session_version: \d+,/, '');
  const updated = text.replace('{ username: admin,', `{ username: admin, session_version: ${version},`);
  writeFileSync(`${file}.next`, updated, { mode: 0o600 });
  renameSync(`${file}.next`, file);
}

test.describe('sessions end for real', () => {
  test('after sign-out the old cookie gets 401 and its open SSE stream ends', async () => {
    const { context, cookie } = await signIn();
    expect(await dashboardStatus(cookie)).toBe(200);
    const stream = await fetch(`${e2eBaseUrl}/api/events`, { headers: { Cookie: `${cookieName}=${cookie}` } });
    expect(stream.status).toBe(200);
    const ended = untilStreamEnds(stream);

    const { csrfToken } = (await (await context.get('/api/auth/csrf')).json()) as { csrfToken: string };
    const signOut = await context.post('/api/auth/signout', {
      headers: { Origin: e2eBaseUrl },
      form: { csrfToken, json: 'true' },
      maxRedirects: 0,
    });
    expect(signOut.status()).toBeLessThan(400);

    expect(await dashboardStatus(cookie), 'the cookie from before the sign-out').toBe(401);
    // The stream re-checks its session every 5 s; give a loaded machine slack beyond that.
    const endedAfterMs = await Promise.race([
      ended,
      new Promise<number>((resolve) => setTimeout(() => resolve(Number.POSITIVE_INFINITY), 20_000).unref()),
    ]);
    expect(endedAfterMs, 'the open SSE stream of the signed-out session ends').toBeLessThan(20_000);
    await context.dispose();
  });

  test('a token past its absolute lifetime or its idle timeout is refused', async () => {
    const now = Date.now();
    const fresh = await forgedCookie({ signedInAt: now - 60 * minute, lastSeenAt: now - minute });
    expect(await dashboardStatus(fresh), 'a well-formed token within both limits').toBe(200);
    const old = await forgedCookie({ signedInAt: now - 12 * 60 * minute - minute, lastSeenAt: now - minute });
    expect(await dashboardStatus(old), 'signed in more than 12 h ago').toBe(401);
    const idle = await forgedCookie({ signedInAt: now - 60 * minute, lastSeenAt: now - 31 * minute });
    expect(await dashboardStatus(idle), 'no request for more than 30 min').toBe(401);
  });

  test('raising session_version in the users file ends the session', async () => {
    const { context, cookie } = await signIn();
    expect(await dashboardStatus(cookie)).toBe(200);
    try {
      setAdminSessionVersion(1);
      expect(await dashboardStatus(cookie), 'a session signed in with session_version 0').toBe(401);
      const again = await signIn();
      expect(await dashboardStatus(again.cookie), 'a new sign-in carries the new version').toBe(200);
      await again.context.dispose();
    } finally {
      setAdminSessionVersion(0);
      await context.dispose();
    }
  });
});
