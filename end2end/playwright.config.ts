import * as path from 'node:path';

import { defineConfig } from '@playwright/test';

// End-to-end tests against a fresh Bearing on 127.0.0.1:3100 (see start-server.sh) signing in
// through the development identity provider (../devidp) on 127.0.0.1:4110, in the Debian
// Chromium at /usr/bin/chromium (Playwright's own browser builds cannot be downloaded here, so
// never run `npx playwright install`).
//
// The `setup` project (tests/global.setup.ts) signs in once as the engineer through the real
// login pages and saves the browser state, and creates a viewer API token for the Backstage
// client tests; the other projects depend on it. tests/auth.spec.ts uses fresh contexts.
const IDP = 'http://127.0.0.1:4110';
const BEARING = 'http://127.0.0.1:3100';
/** kuma-sim, the simulated Kuma control plane Bearing polls (tests/mesh.spec.ts drives it). */
const KUMA = 'http://127.0.0.1:5781';
/** Written by tests/global.setup.ts (see ENGINEER_STATE in tests/auth-helpers.ts). */
const ENGINEER_STATE = path.join(__dirname, 'playwright/.auth/engineer.json');

export default defineConfig({
  testDir: './tests',
  forbidOnly: !!process.env.CI,
  retries: process.env.CI ? 1 : 0,
  workers: 1,
  // A journey signs in (sometimes twice) and waits for pages to hydrate, each wait bounded at
  // 30 s: the default 30 s for the whole test was too short on a loaded 2-core CI machine (the
  // debug build's wasm is about 20 MB), where a transfer journey once timed out while working.
  timeout: 90_000,
  reporter: 'list',
  use: {
    baseURL: BEARING,
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-quic',
        '--no-first-run',
      ],
    },
    trace: 'on-first-retry',
  },
  projects: [
    { name: 'setup', testMatch: /global\.setup\.ts/ },
    // Read-only journeys, signed in as the engineer.
    {
      name: 'chromium',
      dependencies: ['setup'],
      testIgnore: /auth\.spec\.ts/,
      use: { storageState: ENGINEER_STATE },
    },
    // Sign-in and roles in fresh contexts. It changes the catalog (moves `cart` to another team,
    // which the Backstage client tests would see), so it comes after `chromium`: with one worker,
    // projects of the same phase run in the order listed here. (Not a dependency of `chromium`,
    // so that a failing catalog test does not skip these.)
    {
      name: 'auth',
      dependencies: ['setup'],
      testMatch: /auth\.spec\.ts/,
      use: { storageState: { cookies: [], origins: [] } },
    },
  ],
  // Started in this order: the provider and the control plane first, so Bearing finds them.
  webServer: [
    {
      command: 'node ../devidp/server.mjs',
      cwd: __dirname,
      url: `${IDP}/.well-known/openid-configuration`,
      reuseExistingServer: !process.env.CI,
      timeout: 30_000,
      stdout: 'pipe',
      stderr: 'pipe',
      env: {
        DEVIDP_ISSUER: IDP,
        DEVIDP_REDIRECT_URIS: `${BEARING}/auth/callback`,
        DEVIDP_POST_LOGOUT_REDIRECT_URIS: `${BEARING}/`,
        // Machine clients' access tokens are for this Bearing (its --producer-audience).
        DEVIDP_PRODUCER_AUDIENCE: BEARING,
      },
      gracefulShutdown: { signal: 'SIGTERM', timeout: 5_000 },
    },
    {
      command: '../target/debug/kuma-sim --listen 127.0.0.1:5781',
      cwd: __dirname,
      url: `${KUMA}/`,
      reuseExistingServer: !process.env.CI,
      timeout: 30_000,
      stdout: 'pipe',
      stderr: 'pipe',
      gracefulShutdown: { signal: 'SIGTERM', timeout: 5_000 },
    },
    {
      command: 'bash ./start-server.sh',
      cwd: __dirname,
      url: `${BEARING}/readyz`,
      reuseExistingServer: !process.env.CI,
      timeout: 180_000,
      stdout: 'pipe',
      stderr: 'pipe',
      // start-server.sh runs from end2end/, so relative paths are relative to it.
      env: {
        BEARING_OIDC_ISSUER: IDP,
        BEARING_OIDC_CLIENT_ID: 'bearing-dev',
        BEARING_OIDC_CLIENT_SECRET: 'bearing-dev-secret',
        BEARING_PUBLIC_URL: BEARING,
        BEARING_DEV_USERS: '../devidp/users.json',
        // The demo users' roles (Bearing maps no group to a role by itself).
        BEARING_ROLE_MAPPING_FILE: '../devidp/role-mappings.toml',
        // devidp's machine client luigi-orders reports with client credentials.
        BEARING_PRODUCER_CLIENTS: '../devidp/producer-clients.toml',
        // Every test signs in from 127.0.0.1: far more sign-ins a minute than one person makes.
        BEARING_AUTH_RATE_LIMIT: '1000',
        // Poll often so a change in the simulator shows within seconds.
        BEARING_KUMA_URL: KUMA,
        BEARING_KUMA_POLL_INTERVAL: '1s',
        BEARING_KUMA_STATS_INTERVAL: '2s',
        // The repository's policy templates, as `make run` serves them.
        BEARING_POLICY_TEMPLATES: '../policy-templates',
        // The repository's scorecards, as `make run` serves them.
        BEARING_SCORECARDS: '../scorecards',
      },
      gracefulShutdown: { signal: 'SIGTERM', timeout: 20_000 },
    },
  ],
});
