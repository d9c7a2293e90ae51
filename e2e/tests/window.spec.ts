import { test, expect } from '@playwright/test';
import {
  ADMIN, portal, addApplication, copyFrom, postWithSession, requestToken, signIn, uniqueName,
} from './helpers';
import { AxeReport } from './a11y';
import { Shots, WIDTHS } from './shots';

// The test server of this project runs with --reveal-window 20s (see playwright.config.ts).
const WINDOW_MS = 20_000;

// The two tests wait for a window each; they may run side by side.
test.describe.configure({ mode: 'parallel' });

test('the Client Secret can no longer be viewed or copied after the reveal window, but keeps working', async ({ page, context, request }) => {
  test.setTimeout(WINDOW_MS * 3);
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: portal() });
  await signIn(page, ADMIN);
  const name = uniqueName('Window check');
  const clientId = await addApplication(page, name);
  const createdAt = Date.now();

  // During the window: the copy button puts the secret on the clipboard, and
  // the server hands out the same secret to the page's session.
  await expect(page.getByTestId('countdown')).toBeVisible();
  const copied = await copyFrom(page, 'Copy Client Secret', 'secret-status');
  expect(copied).toMatch(/^tss_/);
  const during = await postWithSession(page, `/applications/${clientId}/secret/copy`);
  expect(during.status).toBe(200);
  expect(during.body).toBe(copied);
  expect((await requestToken(request, clientId, copied)).status).toBe(200);

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
  await expect(page.getByText(copied)).toHaveCount(0);

  // The server refuses, whatever the page shows: a direct request for the
  // secret through the page's own session and CSRF token gets nothing.
  const copyAfter = await postWithSession(page, `/applications/${clientId}/secret/copy`);
  expect(copyAfter.status).toBe(410);
  expect(copyAfter.body).not.toContain(copied);
  expect(copyAfter.body).not.toMatch(/tss_[0-9A-Za-z]{49}/);
  const revealAfter = await postWithSession(page, `/applications/${clientId}/secret/reveal`);
  expect(revealAfter.body).not.toContain(copied);
  expect(revealAfter.body).not.toMatch(/tss_[0-9A-Za-z]{49}/);
  expect(revealAfter.body).toContain('can no longer be viewed');

  // The secret itself does not expire: the copy made during the window still gets tokens.
  expect((await requestToken(request, clientId, copied)).status).toBe(200);

  // The way out: reset the secret, and a new one is viewable again; the Client ID stays.
  await page.getByTestId('secret-gone').getByRole('link', { name: 'Reset client secret' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Reset client secret' })).toBeVisible();
  await page.getByRole('button', { name: 'Reset client secret' }).click();
  await expect(page).toHaveURL(`${portal()}/applications/${clientId}`);
  await expect(page.getByTestId('client-id')).toHaveText(clientId);
  await expect(page.getByTestId('countdown')).toBeVisible();
  const fresh = await copyFrom(page, 'Copy Client Secret', 'secret-status');
  expect(fresh).toMatch(/^tss_/);
  expect(fresh).not.toBe(copied);
  expect((await requestToken(request, clientId, fresh)).status).toBe(200);
  expect((await requestToken(request, clientId, copied)).status).toBe(401);
});

test('the details page after the window: accessibility and screenshots at 1280 and 375 px', async ({ page }) => {
  test.setTimeout(WINDOW_MS * 3);
  await signIn(page, ADMIN);
  await page.setViewportSize({ width: 1280, height: 800 });
  await addApplication(page, uniqueName('Window ended'), { 'Incident Response': 'Read & Write', Reporting: 'Read' });
  await expect(page.getByTestId('secret-gone')).toBeVisible({ timeout: WINDOW_MS + 10_000 });

  const axe = new AxeReport(page);
  await axe.check('details after the window');
  const shots = new Shots(page);
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 800 });
    await shots.take('details-after-window');
  }
  expect(axe.blocking).toEqual({});
  expect(shots.overflowing, 'pages that scroll sideways or whose content runs out of its card').toEqual([]);
});
