import { test, expect, type Page } from '@playwright/test';
import {
  ADMIN, VIEWER, addApplication, portal, requestToken, signIn, uniqueName,
} from './helpers';
import { axe } from './a11y';
import { Shots, WIDTHS } from './shots';

// Credentials with a lifecycle, as an admin uses them: rotate a secret with a
// grace period (both secrets work meanwhile), see each secret's last use,
// revoke the old one, set a maximum lifetime, and be warned of secrets that
// expire soon. The Go tests cover the deadlines with a moved clock.

test.describe.configure({ mode: 'serial' });

/** Shows the newest secret of the application on its Details page. */
async function revealSecret(page: Page): Promise<string> {
  await page.getByRole('button', { name: 'Show Client Secret' }).click();
  const secret = (await page.getByTestId('client-secret').textContent())?.trim() ?? '';
  expect(secret).toMatch(/^tss_[0-9A-Za-z]{49}$/);
  return secret;
}

/** Rotates the secret of the application open in page, keeping the old one for grace. */
async function rotate(page: Page, grace: string, expires = ''): Promise<void> {
  await page.getByTestId('rotate').click();
  await expect(page.getByRole('heading', { level: 1, name: 'Rotate client secret' })).toBeVisible();
  await page.getByRole('radio', { name: grace, exact: true }).check();
  if (expires) await page.getByLabel('New secret expires on (optional)').fill(expires);
  await page.getByRole('button', { name: 'Rotate secret' }).click();
}

/** A date n days from now, as a date input takes it (UTC). */
function daysFromNow(n: number): string {
  return new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);
}

test('rotate without downtime, watch last use, revoke the old secret', async ({ page, request, browser }) => {
  test.setTimeout(90_000);
  await signIn(page, ADMIN);
  const name = uniqueName('Rotation');
  const id = await addApplication(page, name);
  const oldSecret = await revealSecret(page);
  expect((await requestToken(request, id, oldSecret)).status).toBe(200);

  await test.step('rotate with a grace period of 24 hours', async () => {
    await rotate(page, '24 hours');
    await expect(page.getByTestId('flash')).toContainText('A new Client Secret was made');
    await expect(page.getByTestId('credential')).toHaveCount(2);
  });
  const newSecret = await revealSecret(page);
  expect(newSecret).not.toBe(oldSecret);

  await test.step('both secrets get tokens during the grace period', async () => {
    expect((await requestToken(request, id, oldSecret)).status).toBe(200);
    expect((await requestToken(request, id, newSecret)).status).toBe(200);
  });

  const creds = page.getByTestId('credential');
  const newest = creds.nth(0);
  const older = creds.nth(1);
  await test.step('the old secret shows its deadline; both show their last use', async () => {
    await expect(older.getByTestId('credential-state')).toHaveText(/^Stops working in (23|24) hours$/);
    await expect(older.getByTestId('credential-state')).toHaveClass(/state--warn/);
    await expect(older.getByTestId('credential-works-until')).toBeVisible();
    await expect(newest.getByTestId('credential-state')).toHaveText('Active');
    // Last use is counted in memory and written by the sweeper (every 2 s here).
    await expect.poll(async () => {
      await page.reload();
      return page.getByTestId('credential').nth(0).getByTestId('credential-last-used').textContent();
    }, { timeout: 15_000 }).toBe('just now');
    await expect(older.getByTestId('credential-last-used')).toHaveText('just now');
    await expect(older.locator('.credential-item__name')).toHaveText(`tss_…${oldSecret.slice(-4)}`);
    await expect(newest.locator('.credential-item__name')).toHaveText(`tss_…${newSecret.slice(-4)}`);
  });

  await test.step('a third live secret is not offered', async () => {
    await expect(page.getByTestId('rotate')).toHaveCount(0);
    await expect(page.getByTestId('rotate-blocked')).toContainText('Two secrets are live');
  });

  await test.step('looks right at 1280 and 375 px, with no accessibility violation', async () => {
    for (const width of WIDTHS) {
      const context = await browser.newContext({ baseURL: portal(), viewport: { width, height: 800 }, storageState: await page.context().storageState() });
      const p = await context.newPage();
      await p.goto(`/applications/${id}`);
      await expect(p.getByTestId('credential')).toHaveCount(2);
      const shots = new Shots(p);
      await shots.take('details-during-rotation');
      expect(shots.overflowing, 'pages that scroll sideways or spill out of a card').toEqual([]);
      const found = await axe(p, `details during rotation at ${width}px`);
      expect([...found.blocking, ...found.minor]).toEqual([]);
      // The other new pages, each looked at and checked the same way.
      for (const [path, name] of [[`/applications/${id}/rotate`, 'rotate-form'], ['/settings', 'settings'], ['/applications?view=last_used', 'list-by-last-use']]) {
        await p.goto(path);
        await shots.take(name);
        const f = await axe(p, `${name} at ${width}px`);
        expect([...f.blocking, ...f.minor]).toEqual([]);
      }
      expect(shots.overflowing, 'pages that scroll sideways or spill out of a card').toEqual([]);
      await context.close();
    }
  });

  await test.step('revoke the old secret: it stops at once, the new one works', async () => {
    await older.getByTestId('revoke').click();
    await expect(page.getByRole('heading', { level: 1, name: 'Revoke credential' })).toBeVisible();
    await page.getByRole('button', { name: 'Revoke credential' }).click();
    await expect(page.getByTestId('flash')).toHaveText('The credential was revoked and no longer works.');
    await expect(page.getByTestId('credential').nth(1).getByTestId('credential-state')).toHaveText('Revoked');
    expect((await requestToken(request, id, oldSecret)).status).toBe(401);
    expect((await requestToken(request, id, newSecret)).status).toBe(200);
    // The last live secret cannot be revoked: Rotate is offered again instead.
    await expect(page.getByTestId('revoke')).toHaveCount(0);
    await expect(page.getByTestId('rotate')).toBeVisible();
  });

  await test.step('Activity records the rotation and the revocation', async () => {
    await page.goto(`/applications/${id}/activity`);
    const actions = page.locator('.event-action');
    await expect(actions.first()).toHaveText('Credential revoked');
    await expect(actions.filter({ hasText: 'Client secret rotated' })).toHaveCount(1);
    await expect(actions.filter({ hasText: 'Credential added' })).toHaveCount(1);
  });
});

test('a read-only member sees the credentials without any action or secret', async ({ page, browser }) => {
  await signIn(page, ADMIN);
  const id = await addApplication(page, uniqueName('Viewer sees'));
  const viewerContext = await browser.newContext({ baseURL: portal() });
  const viewer = await viewerContext.newPage();
  await signIn(viewer, VIEWER);
  await viewer.goto(`/applications/${id}`);
  await expect(viewer.getByTestId('credential')).toHaveCount(1);
  await expect(viewer.getByTestId('rotate')).toHaveCount(0);
  await expect(viewer.getByTestId('revoke')).toHaveCount(0);
  await expect(viewer.getByTestId('client-secret')).toHaveCount(0);
  expect(await viewer.content()).not.toMatch(/tss_[0-9A-Za-z]{49}/);
  await viewer.goto('/settings');
  await expect(viewer.getByRole('heading', { level: 1 })).not.toHaveText('Settings');
  await viewerContext.close();
});

test('maximum lifetime, expiry on rotation and the expiring-soon warning', async ({ page }) => {
  await signIn(page, ADMIN);
  await test.step('an admin sets a maximum secret lifetime of 30 days', async () => {
    await page.goto('/settings');
    await page.getByLabel('Maximum secret lifetime, in days').fill('30');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await expect(page.getByTestId('flash')).toHaveText('The settings were saved.');
    await expect(page.getByLabel('Maximum secret lifetime, in days')).toHaveValue('30');
    const found = await axe(page, 'settings');
    expect([...found.blocking, ...found.minor]).toEqual([]);
  });

  const id = await addApplication(page, uniqueName('Expiring'));
  await test.step('a secret made now expires within the maximum', async () => {
    await expect(page.getByTestId('credential').first()).toContainText('Expires');
  });

  await test.step('an expiry beyond the maximum is refused on the form, nothing changes', async () => {
    await rotate(page, 'Immediately: revoke it now', daysFromNow(60));
    await expect(page.locator('#expires-error')).toContainText('at most 30 days');
    await page.goto(`/applications/${id}`);
    await expect(page.getByTestId('credential')).toHaveCount(1);
  });

  await test.step('a secret expiring in 10 days is flagged on the list', async () => {
    await rotate(page, 'Immediately: revoke it now', daysFromNow(10));
    await expect(page.getByTestId('credential').first().getByTestId('credential-state')).toHaveText(/^Expires in (9|10) days$/);
    await page.goto('/applications');
    await expect(page.getByTestId('expiring-banner')).toBeVisible();
    await page.getByTestId('expiring-banner').getByRole('link', { name: 'Show them' }).click();
    await expect(page.getByRole('link', { name: /^Expiring/ }).first()).toBeVisible();
    await expect(page.getByTestId('secret-warning').first()).toContainText('A secret stops working in');
    const found = await axe(page, 'list of expiring secrets');
    expect([...found.blocking, ...found.minor]).toEqual([]);
  });

  await test.step('the list sorts by last use, unused first', async () => {
    await page.getByTestId('list-view').selectOption('last_used');
    await expect(page).toHaveURL(/view=last_used/);
    await expect(page.getByTestId('last-used').first()).toHaveText('Never');
  });

  await test.step('the maximum is removed again, and the secret no longer expires', async () => {
    await page.goto('/settings');
    await page.getByLabel('Maximum secret lifetime, in days').fill('');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await expect(page.getByTestId('flash')).toHaveText('The settings were saved.');
    // The other specs share the account: leave no secret that expires soon.
    await page.goto(`/applications/${id}`);
    await rotate(page, 'Immediately: revoke it now');
    await expect(page.getByTestId('credential').first().getByTestId('credential-state')).toHaveText('Active');
  });
});

test('a secret reported leaked is revoked at once, and the page and Activity say so', async ({ page, request }) => {
  await signIn(page, ADMIN);
  const id = await addApplication(page, uniqueName('Leaked'));
  const secret = await revealSecret(page);
  expect((await requestToken(request, id, secret)).status).toBe(200);

  // Whoever found it reports it; the answer never says whether it existed.
  const report = await request.post(`${portal()}/oauth2/secrets/leaked`, { form: { secret } });
  expect(report.status()).toBe(202);
  const unknown = await request.post(`${portal()}/oauth2/secrets/leaked`, { form: { secret: secret.slice(0, -1) + (secret.endsWith('a') ? 'b' : 'a') } });
  expect(unknown.status()).toBe(202);
  expect(await unknown.text()).toBe(await report.text());

  expect((await requestToken(request, id, secret)).status).toBe(401);
  await page.goto(`/applications/${id}`);
  await expect(page.getByTestId('credential').first().getByTestId('credential-state')).toHaveText('Revoked');
  await expect(page.getByTestId('credential').first()).toContainText('by a leak report');
  await expect(page.getByTestId('no-live-secret')).toBeVisible();
  await page.goto(`/applications/${id}/activity`);
  const revoked = page.locator('tr', { has: page.locator('.event-action', { hasText: 'Credential revoked' }) });
  await expect(revoked).toContainText('Revoked by a leak report');
});
