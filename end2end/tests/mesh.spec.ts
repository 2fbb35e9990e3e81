// Live mesh state in a real browser: Bearing polls kuma-sim (started by playwright.config.ts)
// every second. Taking a proxy offline in the simulator shows on the component page after the
// next poll; the overview and the team page show the mesh too. Signed in as the engineer.
import { test, expect } from '@playwright/test';

import { collectErrors, hydrated } from './auth-helpers';

const KUMA = 'http://127.0.0.1:5781';

// Any script error (a hydration mismatch panics the wasm app) fails the test that caused it.
let pageErrors: string[] = [];
test.beforeEach(async ({ page }) => {
  pageErrors = collectErrors(page);
});
test.afterEach(async () => {
  expect(pageErrors, 'errors in the browser console').toEqual([]);
});

test('a proxy taken offline in the control plane shows offline after the next poll', async ({ page, request }) => {
  const proxy = page.locator('[data-test-proxy="orders-1"] [data-test-mesh-status]');
  // The first poll may still be on its way when the suite starts.
  await expect(async () => {
    await page.goto('/catalog/component/default/orders');
    await expect(proxy).toHaveAttribute('data-test-mesh-status', 'online', { timeout: 1_000 });
  }).toPass({ timeout: 30_000 });
  await hydrated(page);
  const card = page.locator('[data-test-mesh-card]');
  await expect(card.getByRole('heading', { name: 'Service mesh' })).toBeVisible();
  await expect(card.locator('[data-test-cert]').first()).toBeVisible();

  const res = await request.post(`${KUMA}/_sim/proxies/default/orders-1/offline`);
  expect(res.ok()).toBeTruthy();
  try {
    await expect(async () => {
      await page.reload();
      await expect(proxy).toHaveAttribute('data-test-mesh-status', 'offline', { timeout: 1_000 });
    }).toPass({ timeout: 20_000 });
    // orders has no proxy online left.
    await expect(page.locator('[data-test-proxies-online]').first()).toHaveText(/^0 \/ \d+$/);
  } finally {
    await request.post(`${KUMA}/_sim/proxies/default/orders-1/online`);
  }
});

test('callers link to their components', async ({ page }) => {
  await page.goto('/catalog/component/default/orders');
  await hydrated(page);
  const allowed = page.locator('[data-test-allowed] a').first();
  await expect(allowed).toBeVisible();
  const name = (await allowed.textContent())?.trim() ?? '';
  await allowed.click();
  await expect(page).toHaveURL(new RegExp(`/catalog/component/default/${name}$`));
  await expect(page.locator('[data-test-mesh-card]')).toBeVisible();
});

test('the mesh overview shows each mesh, and the team page its services', async ({ page }) => {
  await page.goto('/');
  await hydrated(page);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Mesh' }).click();
  await expect(page).toHaveURL(/\/mesh$/);
  await expect(page.getByRole('heading', { name: 'Service mesh' })).toBeVisible();
  const mesh = page.locator('[data-test-mesh="default"]');
  await expect(mesh).toBeVisible();
  await expect(mesh.locator('[data-test-mtls]')).toContainText('on');
  await expect(page.locator('[data-test-mesh="legacy"] [data-test-mtls]')).toHaveText('off');
  await expect(page.locator('[data-test-last-read]').first()).toContainText('last read');
  await expect(mesh.locator('[data-test-unmapped]')).toContainText('currency-rates');

  await page.goto('/catalog/group/default/team-checkout');
  await expect(page.locator('[data-test-team-mesh]')).toBeVisible();
  await expect(page.locator('[data-test-team-mesh-row]').first()).toBeVisible();
});

// A page requests every section's data when it is entered: the mesh section's request goes out
// while the entity's own request is still unanswered. (When the mesh section created its request
// only once the entity had rendered, this waited for the entity: a waterfall.)
for (const { name, entity, meshFn, section } of [
  { name: 'a component', entity: 'component:default/orders', meshFn: 'get_component_mesh', section: '[data-test-mesh-card]' },
  { name: 'a team', entity: 'group:default/team-checkout', meshFn: 'get_team_mesh', section: '[data-test-team-mesh]' },
]) {
  test(`${name}'s mesh section loads alongside the entity, not after it`, async ({ page }) => {
    const [kind, rest] = entity.split(':');
    const [, entityName] = rest.split('/');
    await page.goto(`/catalog?kind=${kind}&q=${entityName}`);
    await hydrated(page);

    // Hold the entity's server function until the test lets it go.
    let release = () => {};
    const released = new Promise<void>(resolve => (release = resolve));
    let entityAsked = false;
    await page.route('**/api/fn/get_entity', async route => {
      entityAsked = true;
      await released;
      await route.continue();
    });
    try {
      const meshAsked = page.waitForRequest(`**/api/fn/${meshFn}`, { timeout: 10_000 });
      // Client-side navigation: the router, not a page load, enters the entity page.
      await page.locator(`[data-test-entity-row="${entity}"] a`).first().click();
      await meshAsked;
      expect(entityAsked, 'the entity was requested too').toBe(true);
      await expect(page.locator(section), 'asked before the entity rendered').toHaveCount(0);
    } finally {
      release();
    }
    await expect(page).toHaveURL(new RegExp(`/catalog/${kind}/default/${entityName}$`));
    await expect(page.locator(section)).toBeVisible();
    await expect(page.locator('[data-test-section-error]')).toHaveCount(0);
    await page.unroute('**/api/fn/get_entity');
  });
}
