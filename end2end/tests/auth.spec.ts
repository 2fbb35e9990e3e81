// Sign-in, roles and the browser protections, through the real login pages of the development
// identity provider (../../devidp). Every test starts with no stored state (no session) and
// signs in whom it needs in its own browser contexts.
//
// The transfer test changes the owner of `cart`; this file runs in the `auth` project, after
// the read-only catalog and Backstage client tests (see playwright.config.ts).
import { expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test';

import { BEARING, collectErrors, DEMO_USERS, demoUser, hydrated, IDP, signIn, signInFromLoginPage } from './auth-helpers';

test.use({ storageState: { cookies: [], origins: [] } });

// Any script or console error (a hydration panic, a CSP violation) in any page a test opened
// fails that test; tests remove the errors they expect (a document's own 403, say).
const errors: string[] = [];
const contexts: BrowserContext[] = [];
test.beforeEach(() => {
  errors.length = 0;
});
test.afterEach(async () => {
  for (const c of contexts.splice(0)) await c.close();
  expect(errors, 'errors in the browser console').toEqual([]);
});

/** A page in a new context (no cookies) whose errors go to `errors`. */
async function freshPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ storageState: { cookies: [], origins: [] } });
  contexts.push(context);
  const page = await context.newPage();
  collectErrors(page, errors);
  return page;
}

/** A fresh context's page, signed in as `login`. */
async function signedIn(browser: Browser, login: string): Promise<Page> {
  const page = await freshPage(browser);
  await signIn(page, login);
  return page;
}

/** The session cookie of a page's context. */
async function sessionCookie(page: Page) {
  const cookie = (await page.context().cookies(BEARING)).find(c => c.name === 'bearing');
  expect(cookie, 'the session cookie').toBeDefined();
  return cookie!;
}

test.describe('sign-in', () => {
  test('every demo user can sign in through the login page and the provider, and sees their name', async ({ browser }) => {
    for (const user of DEMO_USERS) {
      const page = await freshPage(browser);
      await page.goto('/login');
      await expect(page.getByRole('heading', { name: 'Sign in to Bearing' })).toBeVisible();
      // The development provider's users are listed, each linking to /auth/login with a hint.
      await expect(page.locator('a[data-test-dev-user]')).toHaveCount(DEMO_USERS.length);
      const link = page.locator(`a[data-test-dev-user="${user.login}"]`);
      await expect(link).toContainText(user.name);
      expect(await link.getAttribute('href')).toContain(`login_hint=${user.login}`);

      await signInFromLoginPage(page, user.login);
      await expect(page).toHaveURL(`${BEARING}/`);
      await expect(page.locator('[data-test="logout"]')).toBeVisible();
      const me = await page.request.get('/api/v1/me');
      expect(me.status()).toBe(200);
      expect(await me.json()).toMatchObject({ name: user.name, email: expect.stringContaining('@acme-retail.example') });
      await page.context().close();
    }
  });

  test('a visitor is sent to the login page and, once signed in, back to the page they asked for', async ({ browser }) => {
    const page = await freshPage(browser);
    await page.goto('/catalog?kind=api');
    await expect(page).toHaveURL(`${BEARING}/login?return_to=%2Fcatalog%3Fkind%3Dapi`);
    await expect(page.locator('[data-test="user-name"]')).toHaveCount(0);
    // The API answers 401 instead of redirecting.
    const api = await page.request.get('/api/v1/me');
    expect(api.status()).toBe(401);

    await signInFromLoginPage(page, 'liam-chen');
    await expect(page).toHaveURL(`${BEARING}/catalog?kind=api`);
    await hydrated(page);
    await expect(page.locator('[data-test-entity-row^="api:"]').first()).toBeVisible();
  });

  test('after sign-out the old session cookie is worthless', async ({ browser }) => {
    const page = await signedIn(browser, 'grace-ndlovu');
    const cookie = await sessionCookie(page);
    expect((await page.request.get('/api/v1/me')).status()).toBe(200);

    await page.locator('[data-test="logout"]').click();
    // The provider asks to confirm, then sends the browser back to Bearing's home, which
    // (signed out) redirects to the login page.
    await expect(page).toHaveURL(new RegExp(`^${IDP}/`));
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await expect(page).toHaveURL(new RegExp(`^${BEARING}/login`));
    await expect(page.locator('[data-test="user-name"]')).toHaveCount(0);
    expect((await page.request.get('/api/v1/me')).status()).toBe(401);

    // The cookie saved before sign-out, replayed from another browser.
    const replay = await browser.newContext({ storageState: { cookies: [], origins: [] } });
    contexts.push(replay);
    await replay.addCookies([cookie]);
    const res = await replay.request.get('/api/v1/me');
    expect(res.status()).toBe(401);
    const pageRes = await replay.request.get('/catalog', { maxRedirects: 0 });
    expect(pageRes.status()).toBeGreaterThanOrEqual(300);
    expect(pageRes.status()).toBeLessThan(400);
    expect(pageRes.headers()['location']).toMatch(/^\/login\?return_to=/);
  });
});

test.describe('roles', () => {
  test('a team lead requests a transfer and the receiving lead accepts it', async ({ browser }) => {
    const cart = '/catalog/component/default/cart';
    const reason = 'Fulfilment runs the basket service from now on (e2e)';

    // Priya leads team-checkout, which owns cart: she sees the forms and requests the transfer.
    const priya = await signedIn(browser, 'priya-raman');
    await priya.goto(cart);
    await hydrated(priya);
    const panel = priya.locator('[data-test="edit-panel"]');
    await expect(panel.locator('[data-test="edit-form"]')).toBeVisible();
    const form = panel.locator('[data-test="transfer-form"]');
    await form.locator('select[name="to"]').selectOption('group:default/team-fulfilment');
    await form.locator('input[name="reason"]').fill(reason);
    await form.getByRole('button', { name: 'Request transfer' }).click();
    // The panel reloads: the pending transfer is shown, and no second one can be requested.
    const pending = priya.locator('[data-test="pending-transfer"]');
    await expect(pending).toContainText(reason);
    await expect(pending.getByRole('link', { name: 'group:default/team-fulfilment' })).toBeVisible();
    await expect(priya.locator('[data-test="transfer-form"]')).toHaveCount(0);
    // Still owned by team-checkout until accepted.
    await expect(priya.locator('dd').getByRole('link').first()).toHaveAttribute('href', '/catalog/group/default/team-checkout');

    // Ingrid leads team-fulfilment: she accepts it on /transfers.
    const ingrid = await signedIn(browser, 'ingrid-larsen');
    await ingrid.goto('/transfers');
    await hydrated(ingrid);
    const row = ingrid.locator('tr[data-test-transfer="component:default/cart"]');
    await expect(row).toContainText(reason);
    await expect(row).toContainText('group:default/team-fulfilment');
    await row.getByRole('button', { name: 'Accept' }).click();
    await expect(ingrid.getByRole('status')).toContainText('component:default/cart');
    await expect(row).toHaveCount(0);

    // The entity page now shows the new owner and that the owner was edited in Bearing.
    await ingrid.goto(cart);
    await hydrated(ingrid);
    await expect(ingrid.locator('dd').getByRole('link').first()).toHaveAttribute('href', '/catalog/group/default/team-fulfilment');
    const notice = ingrid.locator('[data-test-override="owner"]');
    await expect(notice).toBeVisible();
    await expect(notice).toContainText('group:default/team-fulfilment');
    await expect(ingrid.locator('[data-test="pending-transfer"]')).toHaveCount(0);
    // Ingrid's team owns it now, so she gets the forms; Priya no longer does.
    await expect(ingrid.locator('[data-test="transfer-form"]')).toBeVisible();
    await priya.reload();
    await hydrated(priya);
    await expect(priya.locator('[data-test-override="owner"]')).toBeVisible();
    await expect(priya.locator('[data-test="edit-form"]')).toHaveCount(0);
    await expect(priya.locator('[data-test="transfer-form"]')).toHaveCount(0);
  });

  test('an engineer gets no edit forms, and a crafted transfer request answers 403', async ({ browser }) => {
    const page = await signedIn(browser, 'liam-chen');
    await page.goto('/catalog/component/default/checkout');
    await hydrated(page);
    await expect(page.getByRole('heading', { level: 1, name: 'Checkout' })).toBeVisible();
    await expect(page.getByRole('heading', { name: 'Dependency graph' })).toBeVisible();
    await expect(page.locator('[data-test="edit-form"]')).toHaveCount(0);
    await expect(page.locator('[data-test="transfer-form"]')).toHaveCount(0);

    // The same server function the form posts to, with the engineer's cookie and a same-origin
    // Origin header: the cross-origin check passes, the role check refuses.
    const res = await page.request.post('/api/fn/transfer_entity', {
      form: { entity: 'component:default/checkout', to: 'team-fulfilment', reason: 'crafted by an engineer' },
      headers: { Origin: BEARING },
    });
    expect(res.status()).toBe(403);
    expect(await res.text()).not.toContain('cross-origin');
    // Nothing changed.
    const entity = await page.request.get('/api/catalog/entities/by-name/component/default/checkout');
    expect(entity.status()).toBe(200);
    expect((await entity.json()).spec.owner).toBe('group:team-checkout');
  });

  test('an auditor sees the verified audit log; an engineer gets 403', async ({ browser }) => {
    const grace = await signedIn(browser, 'grace-ndlovu');
    await grace.goto('/audit');
    await expect(grace.getByRole('heading', { name: 'Audit log' })).toBeVisible();
    await expect(grace.locator('[data-test="chain-status"]')).toHaveAttribute('data-ok', 'true');
    const entries = grace.locator('table[data-test="audit-entries"]');
    await expect(entries).toBeVisible();
    await expect(entries.locator('tr[data-test-action="auth.login"]').first()).toBeVisible();
    // Her own sign-in is the newest entry; actors are named by issuer and subject (never by
    // the email, which a provider may let anyone choose), with her name and email for display.
    await expect(entries.locator('tbody tr').first()).toHaveAttribute('data-test-action', 'auth.login');
    await expect(entries.locator('tbody tr').first()).toContainText(`user:${IDP}#u-1004`);
    await expect(entries.locator('tbody tr').first().locator('[data-test="actor-display"]')).toHaveText('Grace Ndlovu (grace.ndlovu@acme-retail.example)');

    const liam = await signedIn(browser, 'liam-chen');
    const res = await liam.goto('/audit');
    expect(res?.status()).toBe(403);
    await expect(liam.locator('[data-test-error="403"]').first()).toBeVisible();
    await expect(liam.locator('table[data-test="audit-entries"]')).toHaveCount(0);
    await expect(liam.locator('[data-test="chain-status"]')).toHaveCount(0);
    // The browser reports the document's own 403 on the console; that one is expected.
    const expected = errors.filter(e => e.includes('status of 403'));
    errors.splice(0, errors.length, ...errors.filter(e => !expected.includes(e)));
  });

  test('an auditor downloads the evidence bundle from /evidence; an engineer gets 403', async ({ browser }) => {
    const grace = await signedIn(browser, 'grace-ndlovu');
    await grace.goto('/evidence');
    await expect(grace.getByRole('heading', { name: 'Evidence for auditors' })).toBeVisible();
    const fingerprint = await grace.locator('[data-test="evidence-fingerprint"]').innerText();
    expect(fingerprint).toMatch(/^[0-9a-f]{64}$/);
    const today = new Date();
    const day = (d: Date) => d.toISOString().slice(0, 10);
    await grace.getByLabel('From (included)').fill(day(new Date(today.getTime() - 7 * 86400_000)));
    await grace.getByLabel('To (excluded)').fill(day(new Date(today.getTime() + 86400_000)));
    await grace.getByLabel('Sampling seed (optional)').fill('playwright');
    const [download] = await Promise.all([
      grace.waitForEvent('download'),
      grace.getByRole('button', { name: 'Download bundle' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^bearing-evidence-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.zip$/);
    const path = await download.path();
    const fs = await import('node:fs');
    expect(fs.readFileSync(path).subarray(0, 2).toString()).toBe('PK');
    // The export is in the list of latest exports, with her seed.
    await grace.goto('/evidence');
    await expect(grace.locator('table[data-test="evidence-recent"] tbody tr').first()).toContainText('playwright');

    const liam = await signedIn(browser, 'liam-chen');
    const res = await liam.goto('/evidence');
    expect(res?.status()).toBe(403);
    await expect(liam.locator('[data-test="evidence-form"]')).toHaveCount(0);
    const api = await liam.request.get('/api/v1/evidence?from=2026-01-01&to=2026-02-01');
    expect(api.status()).toBe(403);
    const expected = errors.filter(e => e.includes('status of 403'));
    errors.splice(0, errors.length, ...errors.filter(e => !expected.includes(e)));
  });
});

test.describe('browser protections', () => {
  test('a cross-origin POST with a lead\'s session is refused and changes nothing', async ({ browser }) => {
    const priya = await signedIn(browser, 'priya-raman');
    const before = await (await priya.request.get('/api/catalog/entities/by-name/component/default/checkout')).json();
    expect(before.spec.owner).toBe('group:team-checkout');

    // What a form on another site would send with the lead's cookie.
    const evil = { Origin: 'https://evil.example' };
    const transfer = await priya.request.post('/api/fn/transfer_entity', {
      form: { entity: 'component:default/checkout', to: 'team-fulfilment', reason: 'from evil.example' },
      headers: evil,
    });
    expect(transfer.status()).toBe(403);
    expect(await transfer.text()).toContain('cross-origin');
    const edit = await priya.request.post('/api/fn/edit_entity', {
      form: { entity: 'component:default/checkout', lifecycle: 'deprecated', description: 'pwned', links: '' },
      headers: evil,
    });
    expect(edit.status()).toBe(403);
    // Without an Origin header, a browser's Sec-Fetch-Site says where it came from.
    const noOrigin = await priya.request.post('/api/fn/edit_entity', {
      form: { entity: 'component:default/checkout', lifecycle: 'deprecated', description: 'pwned', links: '' },
      headers: { 'Sec-Fetch-Site': 'cross-site' },
    });
    expect(noOrigin.status()).toBe(403);
    const logout = await priya.request.post('/auth/logout', { headers: evil, maxRedirects: 0 });
    expect(logout.status()).toBe(403);

    // Nothing changed: same entity, no pending transfer, and the session still works.
    const after = await (await priya.request.get('/api/catalog/entities/by-name/component/default/checkout')).json();
    expect(after.spec.owner).toBe('group:team-checkout');
    expect(after.spec.lifecycle).toBe(before.spec.lifecycle);
    expect(after.metadata.description).toBe(before.metadata.description);
    expect(after.metadata.etag).toBe(before.metadata.etag);
    await priya.goto('/catalog/component/default/checkout');
    await hydrated(priya);
    await expect(priya.locator('[data-test="transfer-form"]')).toBeVisible();
    await expect(priya.locator('[data-test="pending-transfer"]')).toHaveCount(0);
    await expect(priya.locator('[data-test-override]')).toHaveCount(0);
    await expect(priya.locator('[data-test="user-name"]')).toHaveText(demoUser('priya-raman').name);
  });
});
