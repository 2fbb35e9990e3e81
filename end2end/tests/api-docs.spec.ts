// The API reference at /api/docs in a real browser: Swagger UI, served by Bearing, renders the
// generated document and runs a request, with the page's Content-Security-Policy (script nonce,
// no inline code) as every page has it: no violation, no request to another origin, no script
// error. Signed in as the setup's engineer, so the request runs with the session cookie and
// answers 200 (that the page and the document are public without sign-in is an integration
// test: openapi::the_reference_page_and_its_assets_are_served_by_bearing).
import { test, expect } from '@playwright/test';

test('the API reference renders the document and tries a request', async ({ page, baseURL }) => {
  const problems: string[] = [];
  const foreign: string[] = [];
  page.on('pageerror', (e) => problems.push(`script error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('request', (r) => {
    if (!r.url().startsWith(`${baseURL}/`)) foreign.push(r.url());
  });
  await page.exposeFunction('reportViolation', (v: string) => problems.push(`CSP: ${v}`));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) =>
      (window as unknown as { reportViolation: (v: string) => void }).reportViolation(
        `${e.violatedDirective} ${e.blockedURI}`,
      ),
    );
  });

  const response = await page.goto('/api/docs');
  expect(response?.headers()['content-security-policy']).toContain("script-src 'self' 'nonce-");
  await expect(page.getByRole('heading', { name: /Bearing/ })).toBeVisible({ timeout: 30_000 });
  // Every tag's operations are listed (27 operations today).
  expect(await page.locator('.opblock').count()).toBeGreaterThanOrEqual(25);

  const list = page.locator('.opblock-get', { has: page.locator('.opblock-summary-path', { hasText: /^\/api\/v1\/entities$/ }) });
  await list.locator('.opblock-summary').click();
  await list.getByRole('button', { name: 'Try it out' }).click();
  await list.getByRole('button', { name: 'Execute' }).click();
  await expect(list.locator('.live-responses-table tbody .response-col_status').first()).toHaveText('200');

  expect(problems, 'errors and policy violations in the browser').toEqual([]);
  expect(foreign, 'requests to other origins').toEqual([]);
});
