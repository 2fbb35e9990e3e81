import { defineConfig } from '@playwright/test';

// End-to-end tests against a fresh Bearing on 127.0.0.1:3100 (see start-server.sh), in the
// Debian Chromium at /usr/bin/chromium (Playwright's own browser builds cannot be downloaded
// here, so never run `npx playwright install`).
export default defineConfig({
  testDir: './tests',
  forbidOnly: !!process.env.CI,
  retries: process.env.CI ? 1 : 0,
  workers: 1,
  reporter: 'list',
  use: {
    baseURL: 'http://127.0.0.1:3100',
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
  projects: [{ name: 'chromium' }],
  webServer: {
    command: 'bash ./start-server.sh',
    cwd: __dirname,
    url: 'http://127.0.0.1:3100/readyz',
    reuseExistingServer: !process.env.CI,
    timeout: 180_000,
    stdout: 'pipe',
    stderr: 'pipe',
    gracefulShutdown: { signal: 'SIGTERM', timeout: 20_000 },
  },
});
