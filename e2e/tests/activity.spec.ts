import { test, expect } from '@playwright/test';
import { ADMIN, VIEWER, addApplication, scopeAccess, signIn, uniqueName } from './helpers';

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
  const text = await (await csv.createReadStream()).toArray().then((chunks) => Buffer.concat(chunks).toString('utf8'));
  expect(text.split('\n')[0]).toBe('time,action,actor_email,actor_subject,client_id,application,details,address,user_agent');
  expect(text).toContain('application.renamed');
  expect(text).not.toMatch(/tss_[0-9A-Za-z]{49}/);
  const [jsonl] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export JSON lines' }).click()]);
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
