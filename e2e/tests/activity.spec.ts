import { test, expect, type Browser, type Download, type Page } from '@playwright/test';
import { ADMIN, OTHER_ADMIN, VIEWER, addApplication, postWithSession, scopeAccess, signIn, uniqueName } from './helpers';
import { axe } from './a11y';
import { shoot } from './shots';

// The audit trail as an admin uses it: what they did shows up, newest first,
// with who, when and from where; the filters narrow it without a reload; the
// exports download; a read-only member is not offered it.

test('the Activity page shows what an admin did, filters it and exports it', async ({ page, browser }) => {
  await signIn(page, ADMIN);
  const name = uniqueName('Audited app');
  const clientId = await addApplication(page, name, { 'Incident Response': 'Read & Write' });
  await page.getByRole('button', { name: 'Show Client Secret' }).click();
  await expect(page.getByTestId('client-secret')).toBeVisible();

  await page.goto(`/applications/${clientId}/edit`);
  await page.getByLabel('Application name').fill(`${name} renamed`);
  await scopeAccess(page, 'Incident Response').getByRole('radio', { name: 'Read', exact: true }).check();
  await page.getByRole('button', { name: 'Save application' }).click();
  await expect(page.getByRole('heading', { level: 1, name: `${name} renamed` })).toBeVisible();

  // From the details page to the application's own trail.
  await page.getByRole('link', { name: 'Activity', exact: true }).last().click();
  await expect(page).toHaveURL(new RegExp(`/applications/${clientId}/activity$`));
  const rows = page.getByTestId('activity').locator('tbody tr');
  await expect(rows).toHaveCount(4);
  await expect(rows.nth(0)).toContainText('Scopes changed');
  await expect(rows.nth(0)).toContainText('Read & Write → Read');
  await expect(rows.nth(1)).toContainText(`Renamed from “${name}” to “${name} renamed”`);
  await expect(rows.nth(2)).toContainText('Client secret shown');
  await expect(rows.nth(3)).toContainText('Application created');
  for (let i = 0; i < 4; i++) {
    await expect(rows.nth(i)).toContainText(ADMIN);
    await expect(rows.nth(i)).toContainText('127.0.0.1');
    await expect(rows.nth(i)).toContainText('Chrom');
  }

  // The filter swaps the table in place and keeps the URL shareable.
  await page.getByLabel('Action').selectOption('application.renamed');
  await expect(page).toHaveURL(/action=application.renamed/);
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText('Application renamed');
  // The exports follow the filter.
  await expect(page.getByRole('link', { name: 'Export CSV' })).toHaveAttribute('href', /action=application.renamed/);
  await page.getByLabel('Action').selectOption('secret.reset');
  await expect(page.getByTestId('activity-empty')).toContainText('No matching events');
  await page.getByLabel('Action').selectOption('');
  await expect(rows).toHaveCount(4);

  // The exports download as files.
  const [csv] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export CSV' }).click()]);
  expect(csv.suggestedFilename()).toMatch(new RegExp(`^activity-\\d{4}-\\d{2}-\\d{2}-${clientId}\\.csv$`));
  const text = (await downloaded(csv)).toString('utf8').replace(/^\uFEFF/, '');
  expect(text.split('\n')[0]).toBe('time,action,actor_email,actor_subject,client_id,application,details,address,user_agent');
  expect(text).toContain('application.renamed');
  expect(text).not.toMatch(/tss_[0-9A-Za-z]{49}/);
  const [jsonl] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export JSON (one event per line)' }).click()]);
  expect(jsonl.suggestedFilename()).toMatch(/\.jsonl$/);

  // The account's trail has the sign-in too; the nav leads there.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Activity' }).click();
  await expect(page).toHaveURL(/\/activity$/);
  await expect(page.getByTestId('activity')).toContainText('Signed in');

  // A read-only member is not offered the trail, and is refused it.
  const viewerContext = await browser.newContext({ baseURL: test.info().project.use.baseURL });
  const viewer = await viewerContext.newPage();
  await signIn(viewer, VIEWER);
  await expect(viewer.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Activity' })).toHaveCount(0);
  const res = await viewer.goto('/activity');
  expect(res?.status()).toBe(403);
  await viewerContext.close();
});

/** The bytes of a download. */
async function downloaded(d: Download): Promise<Buffer> {
  return Buffer.concat(await (await d.createReadStream()).toArray());
}

/** Clicks an export link and returns the file. */
async function exportFile(page: Page, name: string): Promise<Buffer> {
  const [d] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name }).click()]);
  return downloaded(d);
}

/** A signed-in page in a context of its own, in the given time zone. */
async function signedIn(browser: Browser, email: string, timezoneId = 'UTC'): Promise<Page> {
  const context = await browser.newContext({ baseURL: test.info().project.use.baseURL, timezoneId });
  const page = await context.newPage();
  await signIn(page, email);
  return page;
}

/** A day a few days ago, as a datetime-local value's date. */
function daysAgo(n: number): string {
  return new Date(Date.now() - n * 24 * 3600 * 1000).toISOString().slice(0, 10);
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

test('the time range and the application filter narrow the trail and its exports', async ({ browser }) => {
  // A viewer in Tokyo: a custom range is typed in their time zone.
  const page = await signedIn(browser, ADMIN, 'Asia/Tokyo');
  const shown = uniqueName('Ranged app');
  const other = uniqueName('Other app');
  const clientId = await addApplication(page, shown);
  const otherId = await addApplication(page, other);
  await page.goto('/activity');
  const rows = page.getByTestId('activity').locator('tbody tr');

  // The last 15 minutes hold both applications; the page says since when.
  await page.getByLabel('Time').selectOption('15m');
  await expect(page).toHaveURL(/range=15m/);
  await expect(page.getByTestId('activity-range')).toContainText(/Events since .* UTC/);
  await expect(page.getByTestId('activity')).toContainText(other);

  // The application field suggests the account's applications by name and
  // takes one by its Client ID.
  const field = page.getByLabel('Application');
  await field.fill(shown.slice(0, 14));
  await expect(page.locator(`#application-suggestions option[value="${clientId}"]`)).toHaveCount(1);
  await field.fill(clientId);
  await field.press('Tab');
  await expect(page).toHaveURL(new RegExp(`application=${clientId}`));
  await expect(page.getByTestId('activity')).not.toContainText(other);
  await expect(rows.first()).toContainText(shown);
  const csvLink = page.getByRole('link', { name: 'Export CSV' });
  await expect(csvLink).toHaveAttribute('href', /range=15m/);
  await expect(csvLink).toHaveAttribute('href', new RegExp(`application=${clientId}`));
  let csv = await exportFile(page, 'Export CSV');
  expect(csv.subarray(0, 3).equals(BOM), 'the CSV starts with a UTF-8 byte order mark').toBe(true);
  expect(csv.toString('utf8')).toContain(shown);
  expect(csv.toString('utf8')).not.toContain(otherId);
  const jsonl = (await exportFile(page, 'Export JSON (one event per line)')).toString('utf8').trim().split('\n');
  expect(jsonl.length).toBeGreaterThan(0);
  for (const line of jsonl) expect(JSON.parse(line).client_id).toBe(clientId);

  // A custom range days ago, in Tokyo time: nothing of today, in the page
  // or the export, and the page says the range in UTC.
  await page.getByLabel('Time').selectOption('custom');
  await expect(page.getByTestId('custom-range')).toBeVisible();
  await expect(page.getByTestId('custom-range')).toContainText('Asia/Tokyo');
  await page.getByLabel('From').fill(`${daysAgo(3)}T09:00`);
  await page.getByLabel('To').fill(`${daysAgo(2)}T09:00`);
  await expect(page).toHaveURL(/range=custom/);
  await expect(page).toHaveURL(/tz=Asia%2FTokyo/);
  await expect(page.getByTestId('activity-range')).toContainText(/Events from .* 00:00 UTC to .* 00:00 UTC/);
  await expect(page.getByTestId('activity-empty')).toContainText('No matching events');
  await expect(csvLink).toHaveAttribute('href', /from=/);
  csv = await exportFile(page, 'Export CSV');
  expect(csv.subarray(0, 3).equals(BOM)).toBe(true);
  expect(csv.toString('utf8').trim().split('\n')).toHaveLength(1); // the header only
  expect(csv.toString('utf8')).not.toContain(clientId);

  // The same link, opened anew, shows the same.
  await page.reload();
  await expect(page.getByLabel('Time')).toHaveValue('custom');
  await expect(page.getByLabel('From')).toHaveValue(`${daysAgo(3)}T09:00`);
  await expect(page.getByTestId('activity-empty')).toBeVisible();

  // An end before the start says so, shows no events and offers no export.
  await page.getByLabel('To').fill(`${daysAgo(4)}T09:00`);
  await expect(page.getByTestId('activity-problem')).toContainText('The end of the custom range is not after its start');
  await expect(page.getByTestId('activity')).toHaveCount(0);
  await expect(csvLink).toHaveCount(0);

  // The new controls, with events, at a laptop's and a phone's width.
  await page.goto(`/activity?range=custom&from=${daysAgo(3)}T09:00&to=${daysAgo(-1)}T09:00&tz=Asia%2FTokyo&application=${clientId}`);
  await expect(rows.first()).toContainText(shown);
  const found = await axe(page, 'activity with a custom range');
  expect(found.blocking, 'serious accessibility findings').toEqual([]);
  for (const width of [1440, 375]) {
    await page.setViewportSize({ width, height: 900 });
    const shot = await shoot(page, 'activity-range');
    expect(shot.overflow, `${width}px: the page scrolls sideways`).toBe(0);
    expect(shot.stickingOut).toEqual([]);
  }
  await page.setViewportSize({ width: 375, height: 900 });
  await page.goto('/activity?range=custom&from=2026-12-03T17:00&to=2026-12-03T09:00');
  await expect(page.getByTestId('activity-problem')).toBeVisible();
  // A link without a zone was read in UTC, and the page says so.
  await expect(page.getByTestId('custom-range')).toContainText('Your time zone: UTC');
  await shoot(page, 'activity-range-problem');
  expect((await axe(page, 'activity with a bad range')).blocking).toEqual([]);
  await page.context().close();
});

test('an admin sees what a read-only member and a stray link were refused', async ({ browser }) => {
  const admin = await signedIn(browser, ADMIN);
  const clientId = await addApplication(admin, uniqueName('Guarded app'));

  // The viewer posts a reset with a real CSRF token, and opens a Client ID
  // their account does not have: both refused, as before.
  const viewer = await signedIn(browser, VIEWER);
  await viewer.goto(`/applications/${clientId}`);
  const reset = await postWithSession(viewer, `/applications/${clientId}/reset`);
  expect(reset.status).toBe(403);
  const unknown = Array.from({ length: 26 }, () => 'abcdefghijklmnopqrstuvwxyz234567'[Math.floor(Math.random() * 32)]).join('');
  expect((await viewer.goto(`/applications/${unknown}`))?.status()).toBe(404);

  // Another account's admin asks for acme's application: refused as if it
  // did not exist, and recorded in their own account only.
  const globex = await signedIn(browser, OTHER_ADMIN);
  expect((await globex.goto(`/applications/${clientId}`))?.status()).toBe(404);

  // The admin finds the viewer's under their own action, in words.
  await admin.goto('/activity');
  await admin.getByLabel('Action').selectOption('access.refused');
  await expect(admin).toHaveURL(/action=access.refused/);
  const table = admin.getByTestId('activity');
  await expect(table).toContainText(`Refused: ${VIEWER} tried to reset a client secret (POST /applications/${clientId}/reset)`);
  await expect(table).toContainText('Reason: read-only access');
  await expect(table).toContainText(`Refused: ${VIEWER} tried to open an application (GET /applications/${unknown})`);
  await expect(table).toContainText('Reason: not found in the account');
  await expect(table).not.toContainText(OTHER_ADMIN);
  const jsonl = (await exportFile(admin, 'Export JSON (one event per line)')).toString('utf8');
  expect(jsonl).toContain(`"path":"/applications/${clientId}/reset"`);
  expect((await axe(admin, 'activity of refusals')).blocking).toEqual([]);

  // Globex's admin sees their own attempt, which names no application.
  await globex.goto('/activity?action=access.refused');
  const theirs = globex.getByTestId('activity');
  await expect(theirs).toContainText(`Refused: ${OTHER_ADMIN} tried to open an application (GET /applications/${clientId})`);
  await expect(theirs).not.toContainText(VIEWER);
  for (const p of [admin, globex, viewer]) await p.context().close();
});
