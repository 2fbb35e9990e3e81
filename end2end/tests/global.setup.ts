// Runs once before the other projects (see playwright.config.ts): signs the engineer in through
// the real login pages and saves the browser state for catalog.spec.ts, and creates a viewer API
// token for backstage-client.spec.ts with `bearing token create` against the server's data dir.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { expect, test as setup } from '@playwright/test';

import { collectErrors, ENGINEER_STATE, signIn, VIEWER_TOKEN_FILE } from './auth-helpers';

// start-server.sh's fresh data dir and binary (paths from end2end/).
const ROOT = path.resolve(__dirname, '../..');
const DATA_DIR = path.join(ROOT, 'target/e2e/data');
const BIN = path.join(ROOT, 'target/debug/bearing');

setup('sign in as the engineer', async ({ page }) => {
  const errors = collectErrors(page);
  await signIn(page, 'liam-chen');
  fs.mkdirSync(path.dirname(ENGINEER_STATE), { recursive: true });
  await page.context().storageState({ path: ENGINEER_STATE });
  const cookies = await page.context().cookies('http://127.0.0.1:3100');
  expect(cookies.map(c => c.name)).toContain('bearing');
  expect(errors, 'errors in the browser console').toEqual([]);
});

setup('create a viewer API token', async ({ request }) => {
  const token = execFileSync(BIN, ['token', 'create', '--data-dir', DATA_DIR, '--name', 'e2e-backstage-client', '--role', 'viewer'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'], // stderr says "created token ..."; stdout is the token
  }).trim();
  expect(token).toMatch(/^\S+$/);
  // It works, and only as a viewer.
  const me = await request.get('/api/v1/me', { headers: { Authorization: `Bearer ${token}` } });
  expect(me.status()).toBe(200);
  fs.mkdirSync(path.dirname(VIEWER_TOKEN_FILE), { recursive: true });
  fs.writeFileSync(VIEWER_TOKEN_FILE, token, { mode: 0o600 });
});
