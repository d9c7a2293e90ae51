import { test, expect, type Browser, type Page } from '@playwright/test';
import {
  ADMIN, OTHER_ADMIN, VIEWER, addApplication, copyFrom, portal, postWithSession, requestToken, signIn, uniqueName,
} from './helpers';

/** Signs in as `email` in a fresh browser context of its own (that may use the clipboard). */
async function newSession(browser: Browser, email: string): Promise<Page> {
  const context = await browser.newContext({ baseURL: portal() });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: portal() });
  const page = await context.newPage();
  await signIn(page, email);
  return page;
}

/** POSTs from the page itself, with the session's CSRF token, like app.js does. */
async function postFromPage(page: Page, path: string): Promise<{ status: number; body: string }> {
  return page.evaluate(async (p) => {
    const token = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';
    const r = await fetch(p, { method: 'POST', headers: { 'X-CSRF-Token': token, Accept: 'text/plain' }, credentials: 'same-origin' });
    return { status: r.status, body: await r.text() };
  }, path);
}

test.describe('roles and accounts', () => {
  let appName = '';
  let clientId = '';
  let secret = '';
  let version = '';
  const scopes = ['forensics:account:read', 'forensics:account:write', 'reporting:reports:read'];

  test.beforeAll(async ({ browser }) => {
    appName = uniqueName('Billing sync');
    const admin = await newSession(browser, ADMIN);
    clientId = await addApplication(admin, appName, { 'Incident Response': 'Read & Write', Reporting: 'Read' });
    secret = await copyFrom(admin, 'Copy Client Secret', 'secret-status');
    await admin.goto(`/applications/${clientId}/edit`);
    version = (await admin.locator('input[name="version"]').inputValue()) || '1';
    await admin.context().close();
  });

  test('a read-only member sees the applications but no secret and no way to change them', async ({ page }) => {
    await signIn(page, VIEWER);
    await expect(page.getByRole('banner').locator('.who').getByText('Read-only')).toBeVisible();
    // Only this application (other tests add theirs; the list has pages of 50).
    await page.goto(`/applications?q=${encodeURIComponent(clientId)}`);

    // The list: the application is there, nothing to add or edit.
    const row = page.getByTestId('applications').getByRole('row').filter({ hasText: clientId });
    await expect(row.getByRole('link', { name: appName, exact: true })).toBeVisible();
    await expect(row).toContainText('Incident Response · Read & Write');
    await expect(page.getByRole('link', { name: 'Add application' })).toHaveCount(0);
    await expect(page.getByRole('link', { name: /^Edit/ })).toHaveCount(0);
    await expect(row.getByRole('link', { name: `View ${appName}` })).toBeVisible();

    // The details: Client ID and scopes, but no secret, no countdown, no Edit.
    await row.getByRole('link', { name: appName, exact: true }).click();
    await expect(page.getByRole('heading', { level: 1, name: appName })).toBeVisible();
    await expect(page.getByTestId('client-id')).toHaveText(clientId);
    await expect(page.getByTestId('scopes')).toContainText('Incident Response · Account');
    await expect(page.getByTestId('scopes')).toContainText('Reporting · Reports');
    await expect(page.getByTestId('secret-panel')).toContainText('Only admins of the account can view or reset the Client Secret.');
    await expect(page.getByTestId('client-secret')).toHaveCount(0);
    await expect(page.getByTestId('countdown')).toHaveCount(0);
    await expect(page.getByRole('button', { name: 'Show Client Secret' })).toHaveCount(0);
    await expect(page.getByRole('button', { name: 'Copy Client Secret' })).toHaveCount(0);
    await expect(page.getByRole('link', { name: 'Edit', exact: true })).toHaveCount(0);
    await expect(page.getByRole('link', { name: 'Reset client secret' })).toHaveCount(0);

    // The server refuses too, not only the page.
    const copy = await postFromPage(page, `/applications/${clientId}/secret/copy`);
    expect(copy.status).toBe(403);
    expect(copy.body).not.toMatch(/tss_[0-9A-Za-z]{49}/);
    const reveal = await postFromPage(page, `/applications/${clientId}/secret/reveal`);
    expect(reveal.status).toBe(403);
    expect(reveal.body).not.toMatch(/tss_[0-9A-Za-z]{49}/);

    for (const path of ['/applications/new', `/applications/${clientId}/edit`, `/applications/${clientId}/reset`, `/applications/${clientId}/delete`]) {
      const res = await page.goto(path);
      expect(res?.status(), path).toBe(403);
      await expect(page.getByTestId('error-page'), path).toContainText('read-only access');
    }
    // Still there.
    await page.goto(`/applications/${clientId}`);
    await expect(page.getByRole('heading', { level: 1, name: appName })).toBeVisible();
  });

  test('forged POSTs of a read-only member are refused with 403 and change nothing', async ({ page, request }) => {
    await signIn(page, VIEWER);
    await page.goto(`/applications/${clientId}`);
    await expect(page.getByRole('heading', { level: 1, name: appName })).toBeVisible();

    // The viewer's own, valid session and CSRF token: only the role is missing.
    const forged: Array<[string, Record<string, string>]> = [
      [`/applications/${clientId}/delete`, { version }],
      [`/applications/${clientId}/reset`, { version }],
      [`/applications/${clientId}`, { version, name: `${appName} hacked`, 'scope.forensics:account': 'none' }],
      ['/applications', { name: `${appName} planted`, 'scope.forensics:account': 'read' }],
      [`/applications/${clientId}/secret/reveal`, {}],
      [`/applications/${clientId}/secret/copy`, {}],
    ];
    for (const [path, form] of forged) {
      const res = await postWithSession(page, path, form);
      expect(res.status, `POST ${path}`).toBe(403);
      expect(res.body, `POST ${path}`).toContain('read-only access');
      expect(res.body, `POST ${path}`).not.toMatch(/tss_[0-9A-Za-z]{49}/);
    }

    // Nothing changed: same name and scopes, nothing planted, and the secret still works.
    await page.reload();
    await expect(page.getByRole('heading', { level: 1, name: appName })).toBeVisible();
    await expect(page.getByTestId('client-id')).toHaveText(clientId);
    await expect(page.getByTestId('scopes')).toContainText('forensics:account:write');
    await expect(page.getByTestId('scopes')).toContainText('reporting:reports:read');
    await page.goto(`/applications?q=${encodeURIComponent(appName)}`);
    const table = page.getByTestId('applications');
    await expect(table.getByRole('link', { name: appName, exact: true })).toBeVisible();
    await expect(page.getByTestId('count')).toHaveText('1 matching application');
    const token = await requestToken(request, clientId, secret);
    expect(token.status).toBe(200);
    expect(token.body.scope?.split(' ').sort()).toEqual(scopes);
  });

  test("an admin of another account cannot see an application, and it looks like it does not exist", async ({ page }) => {
    await signIn(page, OTHER_ADMIN);
    await expect(page.getByText(appName)).toHaveCount(0);
    await expect(page.getByText(clientId)).toHaveCount(0);

    // A made-up Client ID of the same shape, for comparison.
    const missing = clientId.slice(0, -4) + (clientId.endsWith('aaaa') ? 'bbbb' : 'aaaa');
    const missingRes = await page.goto(`/applications/${missing}`);
    expect(missingRes?.status()).toBe(404);
    const missingText = (await page.getByTestId('error-page').innerText()).replace(/Request ID:.*/s, '');

    for (const path of [`/applications/${clientId}`, `/applications/${clientId}/edit`, `/applications/${clientId}/reset`, `/applications/${clientId}/delete`]) {
      const res = await page.goto(path);
      expect(res?.status(), path).toBe(404);
      await expect(page.getByTestId('error-page'), path).toContainText('Not found');
      await expect(page.getByText(appName), path).toHaveCount(0);
    }
    await page.goto(`/applications/${clientId}`);
    const text = (await page.getByTestId('error-page').innerText()).replace(/Request ID:.*/s, '');
    expect(text).toBe(missingText);

    await page.goto('/applications');
    const copy = await postFromPage(page, `/applications/${clientId}/secret/copy`);
    expect(copy.status).toBe(404);
    expect(copy.body).not.toMatch(/tss_[0-9A-Za-z]{49}/);
    const del = await postFromPage(page, `/applications/${clientId}/delete`);
    expect(del.status).toBe(404);
    const reset = await postFromPage(page, `/applications/${clientId}/reset`);
    expect(reset.status).toBe(404);
  });
});
