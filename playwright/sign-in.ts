import {
  expect,
  request as playwrightRequest,
  type APIRequestContext,
  type Browser,
  type Page,
} from '@playwright/test';
import { e2eBaseUrl, e2eUsers } from './e2e-env';

/** A fresh page signed in through the login form, on /dashboard with the live feed connected. */
export async function signIn(browser: Browser, who: keyof typeof e2eUsers): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto('/dashboard');
  await expect(page).toHaveURL(/\/login/);
  await page.getByLabel('Username').fill(e2eUsers[who].username);
  await page.getByLabel('Password').fill(e2eUsers[who].password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByTestId('live-indicator')).toHaveAttribute('data-state', 'live', { timeout: 15_000 });
  return page;
}

/**
 * A signed-in API client over plain HTTP, posting the credentials the way next-auth's own form does: for
 * tests about the server's HTTP behaviour, which need no browser page.
 */
export async function signInOverHttp(who: keyof typeof e2eUsers): Promise<APIRequestContext> {
  const context = await playwrightRequest.newContext({ baseURL: e2eBaseUrl });
  const { csrfToken } = (await (await context.get('/api/auth/csrf')).json()) as { csrfToken: string };
  const login = await context.post('/api/auth/callback/credentials', {
    headers: { Origin: e2eBaseUrl },
    form: { ...e2eUsers[who], csrfToken, callbackUrl: `${e2eBaseUrl}/dashboard`, json: 'true' },
    maxRedirects: 0,
  });
  expect(login.status(), `${who} sign-in`).toBeLessThan(400);
  return context;
}
