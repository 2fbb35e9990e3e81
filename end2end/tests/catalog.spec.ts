// User journeys through the catalog in a real browser: search, open an entity, follow a
// dependency link, change a filter without a full reload (proves hydration). Signed in as the
// engineer (liam-chen): the `chromium` project loads the state global.setup.ts saved.
import { test, expect, Page } from '@playwright/test';

// Any script error (a hydration mismatch panics the wasm app) fails the test that caused it.
let pageErrors: string[] = [];
test.beforeEach(async ({ page }) => {
  pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
});
test.afterEach(async () => {
  expect(pageErrors, 'errors in the browser console').toEqual([]);
});

async function hydrated(page: Page) {
  // The app sets data-hydrated on <body> once the wasm bundle has taken over the page.
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });
}

test('home shows counts per kind and recent changes', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'Find any service, API or team' })).toBeVisible();
  const components = page.locator('[data-test-count="component"]');
  await expect(components).toBeVisible();
  expect(Number(await components.locator('div').first().textContent())).toBeGreaterThanOrEqual(40);
  await expect(page.getByRole('heading', { name: 'Recently changed' })).toBeVisible();
});

test('search, open an entity, follow a dependency link', async ({ page }) => {
  await page.goto('/');
  await hydrated(page);
  await page.getByRole('searchbox', { name: 'Search', exact: true }).fill('checkout');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(/\/search\?q=checkout/);
  const row = page.locator('[data-test-entity-row="component:default/checkout"]');
  await expect(row).toBeVisible();
  await row.getByRole('link', { name: 'Checkout', exact: true }).click();

  await expect(page).toHaveURL(/\/catalog\/component\/default\/checkout$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Checkout' })).toBeVisible();
  await expect(page.getByRole('img', { name: 'Dependency graph' })).toBeVisible();
  const owner = page.locator('dd').getByRole('link').first();
  await expect(owner).toHaveAttribute('href', '/catalog/group/default/team-checkout');

  // Follow a dependsOn relation to another component's page.
  const dep = page.locator('[data-test-relation^="dependsOn=component:"] a').first();
  const href = await dep.getAttribute('href');
  expect(href).toMatch(/^\/catalog\/component\/default\//);
  await dep.click();
  await expect(page).toHaveURL(new RegExp(href!.replace(/\//g, '\\/') + '$'));
  await expect(page.getByRole('heading', { level: 2, name: 'Relations' })).toBeVisible();
});

test('changing a filter updates the list without a full page reload', async ({ page }) => {
  await page.goto('/catalog');
  await hydrated(page);
  // A marker on window survives client-side navigation but not a reload.
  await page.evaluate(() => ((window as any).__noReload = true));
  const total = page.locator('[data-test-total]');
  const before = Number(await total.getAttribute('data-test-total'));

  await page.locator('[data-test-facet="Kind=api"]').click();
  await expect(page).toHaveURL(/kind=api/);
  await expect(page.locator('[data-test-entity-row^="api:"]').first()).toBeVisible();
  await expect(page.locator('[data-test-entity-row^="component:"]')).toHaveCount(0);
  const after = Number(await total.getAttribute('data-test-total'));
  expect(after).toBeLessThan(before);
  expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);

  await page.locator('[data-test-clear="Kind"]').click();
  await expect(page).not.toHaveURL(/kind=api/);
  expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);
});

test('filters work as plain links without JavaScript', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto('/catalog');
  await page.locator('[data-test-facet="Lifecycle=deprecated"]').click();
  await expect(page).toHaveURL(/lifecycle=deprecated/);
  const rows = page.locator('[data-test-entity-row]');
  expect(await rows.count()).toBeGreaterThan(0);
  for (const badge of await rows.locator('td:nth-child(5)').allTextContents()) {
    expect(badge).toBe('deprecated');
  }
  await context.close();
});

test('a team page shows members, owned entities and coverage', async ({ page }) => {
  await page.goto('/catalog/group/default/team-checkout');
  await expect(page.getByRole('heading', { name: 'Ownership coverage' })).toBeVisible();
  await expect(page.getByRole('heading', { name: /^Members \(\d+\)$/ })).toBeVisible();
  await expect(page.locator('[data-test-entity-row="component:default/checkout"]')).toBeVisible();
});

test('the graph depth changes in place and follows navigation', async ({ page }) => {
  await page.goto('/catalog/component/default/checkout');
  await hydrated(page);
  await page.evaluate(() => ((window as any).__noReload = true));
  const nodes = page.locator('[data-test-graph-node]');
  const depth1 = await nodes.count();
  await page.getByRole('link', { name: 'depth 2' }).click();
  await expect(page).toHaveURL(/checkout\?depth=2$/);
  await expect(page.getByRole('link', { name: 'depth 2' })).toHaveAttribute('aria-current', 'true');
  await expect.poll(() => nodes.count()).toBeGreaterThan(depth1);
  expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);

  // Navigate to another entity: the depth links now point at it.
  await page.locator('[data-test-relation="dependsOn=component:default/cart"] a').click();
  await expect(page).toHaveURL(/\/catalog\/component\/default\/cart$/);
  await expect(page.getByRole('link', { name: 'depth 3' })).toHaveAttribute('href', '/catalog/component/default/cart?depth=3');
});

test('unknown entities get a 404 page', async ({ page }) => {
  const response = await page.goto('/catalog/component/default/no-such-thing');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'Not found' })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Dependency graph' })).toHaveCount(0);
  // The browser reports the document's own 404 on the console; that one is expected.
  pageErrors = pageErrors.filter((e) => !e.includes('status of 404'));
});

test('keyboard users can skip to content and see focus', async ({ page }) => {
  await page.goto('/');
  await page.keyboard.press('Tab');
  const skip = page.getByRole('link', { name: 'Skip to content' });
  await expect(skip).toBeFocused();
  await expect(skip).toBeVisible();
});
