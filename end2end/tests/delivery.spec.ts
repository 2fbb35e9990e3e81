// Issue 13: real Luigi (from PyPI, in target/py-luigi; `make test-e2e` prepares it) runs the
// example pipeline Extract -> Transform -> Load against this Bearing with a producer token;
// Transform fails. The demo's orders-etl claims the three jobs (openlineage.io/job) and names the
// producer (bearing.dev/producers: luigi-orders). Signed in as the engineer, the failed run is
// on orders-etl's page, and its page shows the error beside its upstream.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { expect, test } from '@playwright/test';

import { collectErrors, hydrated } from './auth-helpers';

const ROOT = path.resolve(__dirname, '../..');
const DATA_DIR = path.join(ROOT, 'target/e2e/data');
const BIN = path.join(ROOT, 'target/debug/bearing');
const LUIGI = path.join(ROOT, 'target/py-luigi/bin/luigi');

test('a failed Luigi task shows on its component page with its error and upstream', async ({ page }) => {
  test.skip(!fs.existsSync(LUIGI), 'no Luigi venv: run `LUIGI_SETUP_ONLY=1 scripts/luigi-test.sh` (make test-e2e does)');
  const errors = collectErrors(page);
  const token = execFileSync(
    BIN,
    ['token', 'create', '--data-dir', DATA_DIR, '--name', 'luigi-orders', '--role', 'producer', '--scope', 'team-data'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  ).trim();

  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'bearing-e2e-luigi-'));
  const run = spawnSync(
    LUIGI,
    ['--module', 'pipeline', 'Load', '--local-scheduler', '--retcode-task-failed', '3'],
    {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
      env: {
        ...process.env,
        PYTHONPATH: path.join(ROOT, 'integrations/luigi/examples'),
        BEARING_URL: 'http://127.0.0.1:3100',
        BEARING_TOKEN: token,
        PIPELINE_OUT: out,
      },
    },
  );
  fs.rmSync(out, { recursive: true, force: true });
  // Luigi says the pipeline failed (Transform), and Bearing refused nothing it sent.
  expect(run.status, run.stderr).toBe(3);
  expect(run.stderr).not.toMatch(/bearing.*(refused|403|401)/i);

  const section = page.locator('[data-test="delivery-section"]');
  const failed = section.locator('tr[data-test-run]', { has: page.locator('[data-test-run-status="fail"]') });
  await expect(async () => {
    await page.goto(`/catalog/component/default/orders-etl?fresh=${Date.now()}`);
    await expect(failed).toHaveCount(1, { timeout: 1_000 });
  }).toPass({ timeout: 20_000 });
  await expect(failed).toContainText('luigi/Transform');
  await expect(failed).toContainText('token:luigi-orders');
  await expect(failed).toContainText('amount column is not a decimal');
  await expect(
    section.locator('tr[data-test-run]', { hasText: 'luigi/Extract' }).locator('[data-test-run-status]'),
  ).toHaveText('complete');
  await hydrated(page);

  // One click to the run: its error, and beside it what it depends on.
  await failed.getByRole('link', { name: 'luigi/Transform' }).click();
  await expect(page).toHaveURL(/\/delivery\/run\?id=/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Run of luigi/Transform');
  await expect(page.locator('[data-test="run-error"]')).toContainText('ValueError');
  const upstream = page.locator('[data-test="run-upstream"]');
  await expect(upstream).toContainText('luigi/Extract');
  await expect(upstream.locator('[data-test-run-status="complete"]')).toHaveCount(1);
  // orders-etl's declared dependencies, with their owners.
  await expect(upstream.locator('[data-test-upstream="resource:default/orders-db"]')).toBeVisible();
  expect(errors, 'errors in the browser console').toEqual([]);
});
