// Signing in through the real pages: Bearing's /login, then the development identity provider's
// login page (../../devidp), then back to Bearing. Shared by global.setup.ts and auth.spec.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { expect, type Page } from '@playwright/test';

/** Browser state of the signed-in engineer, written by global.setup.ts (see playwright.config.ts). */
export const ENGINEER_STATE = path.join(__dirname, '../playwright/.auth/engineer.json');
/** A viewer API token for the Backstage client tests, written by global.setup.ts. */
export const VIEWER_TOKEN_FILE = path.join(__dirname, '../playwright/.auth/viewer-token.txt');

export const BEARING = 'http://127.0.0.1:3100';
export const IDP = 'http://127.0.0.1:4110';

export type DemoUser = { login: string; name: string; role_hint: string };

/** The demo users of the development provider, as Bearing's login page lists them. */
export const DEMO_USERS: DemoUser[] = JSON.parse(
  fs.readFileSync(path.join(__dirname, '../../devidp/users.json'), 'utf8'),
);

export function demoUser(login: string): DemoUser {
  const user = DEMO_USERS.find(u => u.login === login);
  if (!user) throw new Error(`no demo user ${login}`);
  return user;
}

/**
 * Signs `login` in from Bearing's login page, which the page must already show (after a
 * redirect from a protected page, or `page.goto('/login')`). Returns once Bearing's header
 * shows the user's name (filled in by the browser after hydration).
 */
export async function signInFromLoginPage(page: Page, login: string): Promise<void> {
  const user = demoUser(login);
  await expect(page).toHaveURL(/\/login(\?|$)/);
  await page.locator(`a[data-test-dev-user="${login}"]`).click();
  // The provider's page, with the user preselected by login_hint.
  await expect(page).toHaveURL(new RegExp(`^${IDP}/interaction/`));
  await page.getByRole('button', { name: `Sign in as ${user.name} (` }).click();
  await expect(page).toHaveURL(new RegExp(`^${BEARING}/`));
  // Pages are shared by everyone with the same rights, so the header's name comes from the
  // browser, once the app has taken over the page.
  await hydrated(page);
  await expect(page.locator('[data-test="user-name"]')).toHaveText(user.name);
}

/** Signs `login` in and leaves the page where the login flow returns (`/` by default). */
export async function signIn(page: Page, login: string): Promise<void> {
  await page.goto('/login');
  await signInFromLoginPage(page, login);
}

/** Records script errors and console errors of `page` (a CSP violation is a console error). */
export function collectErrors(page: Page, errors: string[] = []): string[] {
  page.on('pageerror', e => errors.push(`${page.url()}: ${e.message}`));
  page.on('console', m => {
    if (m.type() !== 'error') return;
    // The provider's pages are plain HTML without scripts, images or stylesheets; the one
    // resource the browser fetches there is /favicon.ico, which devidp does not serve.
    if (page.url().startsWith(`${IDP}/`) && /^Failed to load resource: .* status of 404/.test(m.text())) return;
    errors.push(`${page.url()}: ${m.text()}`);
  });
  return errors;
}

/** Waits until the wasm app has taken over the page. */
export async function hydrated(page: Page) {
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });
}
