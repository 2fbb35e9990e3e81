// The service map in a real browser: a demo team's services with the mesh's edges (Bearing polls
// kuma-sim every second), an edge described when the keyboard focuses it, class filters followed
// as plain links, and the way there from the navigation and from /mesh's drift panel. Signed in
// as the engineer.
import { test, expect, type Page } from '@playwright/test';

import { collectErrors, hydrated } from './auth-helpers';

// Any script error (a hydration mismatch panics the wasm app) fails the test that caused it.
let pageErrors: string[] = [];
test.beforeEach(async ({ page }) => {
  pageErrors = collectErrors(page);
});
test.afterEach(async () => {
  expect(pageErrors, 'errors in the browser console').toEqual([]);
});

/** Opens `url` once the first poll has stored the mesh, so the map has edges. */
async function openMap(page: Page, url: string) {
  await expect(async () => {
    await page.goto(url);
    await expect(page.locator('[data-test-graph-edge]').first()).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 30_000 });
  await hydrated(page);
}

/** Every class the table and the drawing show. */
async function classesShown(page: Page): Promise<string[]> {
  const of = (selector: string) =>
    page.locator(selector).evaluateAll(els => els.map(e => e.getAttribute('data-test-class') ?? ''));
  return [...new Set([...(await of('[data-test-edge-row]')), ...(await of('[data-test-graph-edge]'))])];
}

test('a team map describes an edge on keyboard focus and filters by class', async ({ page }) => {
  await openMap(page, '/graph?team=team-checkout');
  await expect(page.getByRole('heading', { name: 'Team team-checkout' })).toBeVisible();
  await expect(page.locator('[data-test-graph-legend]')).toBeVisible();
  await expect(page.locator('[data-test-edge-table] tbody tr').first()).toBeVisible();

  // Keyboard: from the class filters, Tab reaches the drawing's edges.
  const filters = page.getByRole('navigation', { name: 'Edge classes' }).getByRole('link');
  await filters.last().focus();
  let focused = '';
  for (let i = 0; i < 10 && !focused; i++) {
    await page.keyboard.press('Tab');
    focused = await page.evaluate(() => document.activeElement?.getAttribute('data-test-graph-edge') ?? '');
  }
  expect(focused, 'an edge takes the keyboard focus').not.toBe('');
  const label = (await page.locator(`[data-test-graph-edge="${focused}"]`).first().getAttribute('aria-label')) ?? '';
  expect(label, 'the description names both ends, the verdict and the deciding rule').toMatch(
    /→.*(permitted|denied).* by /,
  );
  await expect(page.locator('[data-test-edge-description]')).toHaveText(label);

  // A class filter is a link: following it narrows the drawing and the table to that class.
  const filter = page.locator('[data-test-class-filter]:not([data-test-class-filter="all"])').first();
  const cls = (await filter.getAttribute('data-test-class-filter')) ?? '';
  const count = Number(await filter.getAttribute('data-test-count'));
  await filter.click();
  await expect(page).toHaveURL(new RegExp(`[?&]class=${cls}(&|$)`));
  await expect(page.locator(`[data-test-class-filter="${cls}"]`)).toHaveAttribute('aria-current', 'page');
  await expect(page.locator('[data-test-edge-row]')).toHaveCount(count);
  expect(await classesShown(page)).toEqual([cls]);

  // Back to every class, then the table sorted healthiest first by its Class header.
  await page.locator('[data-test-class-filter="all"]').click();
  await expect(page.locator('[data-test-class-filter="all"]')).toHaveAttribute('aria-current', 'page');
  await page.getByRole('columnheader', { name: /Class/ }).getByRole('link').click();
  await expect(page).toHaveURL(/[?&]sort=best(&|$)/);
  await expect(page.getByRole('columnheader', { name: /Class/ })).toHaveAttribute('aria-sort', 'ascending');
});

test('the map is in the navigation, and its pickers choose a team', async ({ page }) => {
  await page.goto('/');
  await hydrated(page);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Map' }).click();
  await expect(page).toHaveURL(/\/graph$/);
  await expect(page.locator('[data-test-map-choose]')).toBeVisible();
  await page.getByLabel('Team').selectOption('team-checkout');
  await page.getByRole('button', { name: 'Show map' }).click();
  await expect(page).toHaveURL(/[?&]team=team-checkout(&|$)/);
  await expect(page.locator('[data-test-map-title]')).toHaveText('Team team-checkout');
});

test("a mesh's drift panel links to the map of one class", async ({ page }) => {
  const link = page.locator('[data-test-drift="default"] [data-test-drift-class]').first();
  await expect(async () => {
    await page.goto('/mesh');
    await expect(link).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 30_000 });
  await hydrated(page);
  const cls = (await link.getAttribute('data-test-drift-class')) ?? '';
  await link.click();
  await expect(page).toHaveURL(new RegExp(`/graph\\?mesh=default&class=${cls}$`));
  await expect(page.locator('[data-test-map-title]')).toHaveText('Mesh default');
  expect(await classesShown(page)).toEqual([cls]);
});
