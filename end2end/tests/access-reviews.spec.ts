// Access reviews (issue 14 §3) through the pages: an admin opens a review of team-checkout's
// roles, keeps every entry with a note (keyboard only), closes it and sees the signed
// attestation; the team's lead sees the review but cannot decide her own entry. Nothing is
// revoked, so the other journeys' users keep their roles.
import { expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test';

import { collectErrors, hydrated, signIn } from './auth-helpers';

test.use({ storageState: { cookies: [], origins: [] } });

const errors: string[] = [];
const contexts: BrowserContext[] = [];
test.afterEach(async () => {
  for (const c of contexts.splice(0)) await c.close();
  expect(errors, 'errors in the browser console').toEqual([]);
});

async function signedIn(browser: Browser, login: string): Promise<Page> {
  const context = await browser.newContext({ storageState: { cookies: [], origins: [] } });
  contexts.push(context);
  const page = await context.newPage();
  collectErrors(page, errors);
  await signIn(page, login);
  return page;
}

test('an admin reviews team-checkout, closes the review and sees the signed attestation', async ({ browser }) => {
  // Priya leads team-checkout; she has to have signed in for her role to be reviewed.
  const priya = await signedIn(browser, 'priya-raman');
  const paul = await signedIn(browser, 'paul-dubois');
  await paul.goto('/access-reviews');
  await hydrated(paul);
  const due = new Date(Date.now() + 14 * 86_400_000).toISOString().slice(0, 10);
  const open = paul.locator('[data-test="open-review"]');
  await open.getByLabel('Scope: all, or one team').fill('team-checkout');
  await open.getByLabel('Due on').fill(due);
  await open.getByLabel('Due on').press('Enter');
  const opened = paul.getByRole('status').filter({ hasText: 'Opened' });
  await expect(opened).toBeVisible();
  await opened.getByRole('link').click();
  await hydrated(paul);
  await expect(paul.locator('[data-test="review-title"]')).toContainText('group:default/team-checkout');

  // Priya is her team's only lead: an admin reviews her. She sees the review, without a form
  // for her own entry.
  const id = paul.url().split('/').pop();
  await priya.goto(`/access-reviews/${id}`);
  await hydrated(priya);
  const own = priya.locator('tr[data-test-entry]').filter({ hasText: 'Priya Raman' });
  await expect(own).toBeVisible();
  await expect(own.locator('form')).toHaveCount(0);

  // Paul keeps every entry, with the keyboard only.
  const forms = paul.locator('form[data-test-decide]');
  for (let left = await forms.count(); left > 0; left--) {
    const form = forms.first();
    await form.getByLabel('Keep').focus();
    await paul.keyboard.press('Space');
    await form.getByLabel('Note').focus();
    await paul.keyboard.type('still leads checkout');
    await paul.keyboard.press('Tab');
    await paul.keyboard.press('Enter');
    await expect(forms).toHaveCount(left - 1);
  }
  await paul.getByRole('button', { name: 'Close and sign' }).click();
  await expect(paul.locator('[data-test="review-status"]')).toHaveAttribute('data-status', 'closed');
  await expect(paul.locator('[data-test="attestation-fingerprint"]')).toHaveText(/^[0-9a-f]{64}$/);
});

test('an engineer is refused the reviews', async ({ browser }) => {
  const liam = await signedIn(browser, 'liam-chen');
  const answer = await liam.goto('/access-reviews');
  expect(answer?.status()).toBe(403);
  // The document's own 403 is expected.
  errors.length = 0;
});
