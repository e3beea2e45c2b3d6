import { expect, type Browser, type Page } from '@playwright/test';
import { e2eUsers } from './e2e-env';

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
