import { test, expect, type Page } from '@playwright/test';
import { ADMIN, portal, addApplication, copyFrom, signIn, uniqueName } from './helpers';

// The test server runs with --reveal-window 20s (see start-server.sh).
const WINDOW_MS = 20_000;

async function copyStatus(page: Page, clientId: string): Promise<{ status: number; body: string }> {
  return page.evaluate(async (id) => {
    const token = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';
    const r = await fetch(`/applications/${id}/secret/copy`, {
      method: 'POST', headers: { 'X-CSRF-Token': token, Accept: 'text/plain' }, credentials: 'same-origin', cache: 'no-store',
    });
    return { status: r.status, body: await r.text() };
  }, clientId);
}

test('the Client Secret can no longer be viewed or copied after the reveal window', async ({ page, context }) => {
  test.setTimeout(WINDOW_MS * 3);
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: portal() });
  await signIn(page, ADMIN);
  const name = uniqueName('Window check');
  const clientId = await addApplication(page, name);
  const createdAt = Date.now();

  // During the window: the server hands the secret out.
  const during = await copyStatus(page, clientId);
  expect(during.status).toBe(200);
  expect(during.body).toMatch(/^tss_/);
  await expect(page.getByTestId('countdown')).toBeVisible();

  // When the countdown runs out the page reloads by itself and says so.
  await expect(page.getByTestId('secret-gone')).toBeVisible({ timeout: WINDOW_MS + 10_000 });
  expect(Date.now() - createdAt).toBeGreaterThan(WINDOW_MS - 3_000);
  await expect(page.getByTestId('secret-gone')).toContainText('can no longer be viewed');

  // A reload shows the same: no secret, no show/copy, no countdown.
  await page.reload();
  await expect(page.getByTestId('secret-gone')).toContainText('can no longer be viewed');
  await expect(page.getByTestId('client-secret')).toHaveCount(0);
  await expect(page.getByTestId('countdown')).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Show Client Secret' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Copy Client Secret' })).toHaveCount(0);

  // The server refuses, whatever the page shows.
  const after = await copyStatus(page, clientId);
  expect(after.status).toBe(410);
  expect(after.body).not.toContain(during.body);
  expect(after.body).not.toMatch(/tss_/);

  // The way out: reset the secret, and a new one is viewable again.
  await page.getByTestId('secret-gone').getByRole('link', { name: 'Reset client secret' }).click();
  await page.getByRole('button', { name: 'Reset client secret' }).click();
  await expect(page).toHaveURL(`${portal()}/applications/${clientId}`);
  await expect(page.getByTestId('countdown')).toBeVisible();
  const fresh = await copyFrom(page, 'Copy Client Secret', 'secret-status');
  expect(fresh).toMatch(/^tss_/);
  expect(fresh).not.toBe(during.body);
});
