// A lead previews the traffic policy Bearing proposes for a component of their team, applies
// it from the entity page, sees it in the control plane and, after the next poll, as Bearing's
// policy in the mesh; then rolls it back. Signed in as Priya (lead of team-checkout) in a fresh
// browser context.
import { test, expect } from '@playwright/test';

import { collectErrors, hydrated, signIn } from './auth-helpers';

const KUMA = 'http://127.0.0.1:5781';
const POLICY = `${KUMA}/meshes/default/meshtrafficpermissions/bearing-payments`;

test('a lead previews, applies and rolls back a traffic policy from the entity page', async ({ browser, request }) => {
  const context = await browser.newContext({ storageState: { cookies: [], origins: [] } });
  const page = await context.newPage();
  const errors = collectErrors(page);
  try {
    await signIn(page, 'priya-raman');
    const section = page.locator('[data-test="policy-section"]');
    // The first poll may still be on its way when the suite starts.
    await expect(async () => {
      await page.goto('/catalog/component/default/payments');
      await expect(section.locator('[data-test="policy-apply-form"]')).toBeVisible({ timeout: 1_000 });
    }).toPass({ timeout: 30_000 });
    await hydrated(page);
    await expect(section.locator('[data-test="policy-current"]')).toContainText('bearing-payments');
    // The demo world's allow-payments targets the MeshService: Kuma ranks it above the proposal,
    // and the section says so before anyone applies.
    await expect(section.locator('[data-test="policy-outranked"]')).toContainText('allow-payments');
    await section.getByText('Diff from the policy in the mesh').click();
    await expect(section.locator('[data-test="policy-diff"]')).toContainText('+name: bearing-payments');

    // Apply: the reason is required, then the control plane has the policy.
    const apply = section.locator('[data-test="policy-apply-form"]');
    await apply.getByLabel(/Reason/).fill('only declared consumers may call payments');
    await apply.getByRole('button', { name: 'Apply policy' }).click();
    await expect(section.locator('[data-test="policy-written"]')).toContainText('bearing-payments created');
    const inKuma = await request.get(POLICY);
    expect(inKuma.status()).toBe(200);
    expect((await inKuma.json()).labels['bearing.dev/component']).toBeTruthy();

    // After the next poll the page shows it as Bearing's policy in the mesh.
    await expect(async () => {
      await page.reload();
      await expect(section.locator('[data-test="policy-current"]')).toContainText('applied by Bearing', { timeout: 1_000 });
    }).toPass({ timeout: 20_000 });
    await hydrated(page);

    // Roll back: Bearing created it, so it is deleted again.
    const rollback = section.locator('[data-test="policy-rollback-form"]');
    await rollback.getByLabel(/Reason/).fill('end of the test');
    await rollback.getByRole('button', { name: 'Roll back' }).click();
    await expect(section.locator('[data-test="policy-written"]')).toContainText('bearing-payments deleted');
    expect((await request.get(POLICY)).status()).toBe(404);
    expect(errors, 'errors in the browser console').toEqual([]);
  } finally {
    // Never leave the policy behind for the other tests, whatever failed.
    await request.delete(POLICY);
    await context.close();
  }
});

test('a lead applies and rolls back a policy from a template on the entity page', async ({ browser }) => {
  const context = await browser.newContext({ storageState: { cookies: [], origins: [] } });
  const page = await context.newPage();
  const errors = collectErrors(page);
  try {
    await signIn(page, 'priya-raman');
    const section = page.locator('[data-test="template-policies"]');
    await expect(async () => {
      await page.goto('/catalog/component/default/payments');
      await expect(section).toBeVisible({ timeout: 1_000 });
    }).toPass({ timeout: 30_000 });
    await hydrated(page);
    // payments is a production service: the production templates select it.
    const metrics = section.locator('[data-test-template="metrics-production"]');
    await expect(metrics.locator('[data-test="template-status"]')).toHaveText('not applied');
    const apply = metrics.locator('[data-test="template-apply-form"]');
    await apply.getByLabel('Reason').fill('production metrics for payments');
    await apply.getByRole('button', { name: 'Apply' }).click();
    await expect(section.locator('[data-test="policy-written"]', { hasText: 'Applied' })).toContainText('created');
    await expect(metrics.locator('[data-test="template-status"]')).toHaveText('applied');

    const rollback = metrics.locator('[data-test="template-rollback-form"]');
    await rollback.getByLabel('Reason').fill('end of the test');
    await rollback.getByRole('button', { name: 'Roll back' }).click();
    await expect(section.locator('[data-test="policy-written"]', { hasText: 'Rolled back' })).toContainText('deleted');
    await expect(metrics.locator('[data-test="template-status"]')).toHaveText('not applied');
    expect(errors, 'errors in the browser console').toEqual([]);
  } finally {
    await context.close();
  }
});

// The demo world has no permission for tax-calculator, so mTLS refuses checkout's declared calls
// (declared_denied). Bearing's proposal is the only policy for it: once Priya applies it, the
// simulated mesh lets checkout in and, after the next poll, the graph edge turns healthy and
// names the policy that decided it.
test('applying the proposal changes the graph after the next poll', async ({ browser, request }) => {
  const policy = `${KUMA}/meshes/default/meshtrafficpermissions/bearing-tax-calculator`;
  const context = await browser.newContext({ storageState: { cookies: [], origins: [] } });
  const page = await context.newPage();
  const errors = collectErrors(page);
  const entity = '/catalog/component/default/tax-calculator';
  const edge = page.locator('[data-test-graph-edge="component:default/checkout|component:default/tax-calculator"]');
  try {
    await signIn(page, 'priya-raman');
    await expect(async () => {
      await page.goto(entity);
      await expect(edge).toHaveAttribute('data-test-class', 'declared_denied', { timeout: 1_000 });
    }).toPass({ timeout: 30_000 });
    await expect(edge).toHaveAttribute('aria-label', /no policy/i);
    await hydrated(page);

    const section = page.locator('[data-test="policy-section"]');
    await expect(section.locator('[data-test="policy-outranked"]')).toHaveCount(0);
    const apply = section.locator('[data-test="policy-apply-form"]');
    await apply.getByLabel(/Reason/).fill('checkout is a declared consumer of tax-calculator');
    await apply.getByRole('button', { name: 'Apply policy' }).click();
    await expect(section.locator('[data-test="policy-written"]')).toContainText('bearing-tax-calculator created');

    // The sim enforces the new policy at once; Bearing sees it, and the traffic, on its next poll.
    await expect(async () => {
      await page.goto(`${entity}?after-apply=${Date.now()}`);
      await expect(edge).toHaveAttribute('data-test-class', 'healthy', { timeout: 1_000 });
    }).toPass({ timeout: 30_000 });
    await expect(edge).toHaveAttribute('aria-label', /bearing-tax-calculator/);
    expect(errors, 'errors in the browser console').toEqual([]);
  } finally {
    await request.delete(policy);
    await context.close();
  }
});
