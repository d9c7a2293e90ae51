import { test, expect, type Page } from '@playwright/test';
import {
  ADMIN, VIEWER, addApplication, expectProviderLogin, fillProviderLogin, portal, scopeAccess, signIn, uniqueName,
} from './helpers';
import { axe } from './a11y';
import { Shots, WIDTHS } from './shots';

// The console's rough edges, as a first-time admin meets them: the examples
// that work as pasted, the Test panel, the warnings at the moment of a change,
// a session that ended elsewhere, and the pages on a phone.

test.use({ timezoneId: 'Asia/Tokyo' });

test('the export line carries the secret; the examples switch by tab and copy', async ({ page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: portal() });
  await signIn(page, ADMIN);
  const id = await addApplication(page, uniqueName('Examples'));

  // The export line comes with the secret through Copy, recorded as a copy.
  await expect(page.getByTestId('export-line')).toHaveText("export CLIENT_SECRET='…'");
  await page.evaluate(() => navigator.clipboard.writeText(''));
  await page.getByRole('button', { name: 'Copy the export line with the Client Secret' }).click();
  await expect(page.locator('#export-status')).toHaveText('Copied');
  const line = await page.evaluate(() => navigator.clipboard.readText());
  expect(line).toMatch(/^export CLIENT_SECRET='tss_[0-9A-Za-z]{49}'\n$/);
  // "Copied" is a live region that fades and then empties.
  await expect(page.locator('#export-status')).toHaveAttribute('role', 'status');
  await expect(page.locator('#export-status')).toHaveText('', { timeout: 5_000 });
  await expect(page.locator('body')).not.toContainText(line.slice(16, 30));

  // One example at a time, chosen by tab or arrow key, each naming the application.
  const tabs = page.getByRole('tablist', { name: 'Language of the example' });
  await expect(tabs.getByRole('tab')).toHaveText(['curl', 'Python', 'Go']);
  await expect(page.getByTestId('example-curl')).toBeVisible();
  await expect(page.getByTestId('example-python')).toBeHidden();
  await tabs.getByRole('tab', { name: 'Python' }).click();
  await expect(page.getByTestId('example-python')).toBeVisible();
  await expect(page.getByTestId('example-python')).toContainText(`auth=("${id}", os.environ["CLIENT_SECRET"])`);
  await expect(page.getByTestId('example-curl')).toBeHidden();
  await page.keyboard.press('ArrowRight');
  await expect(tabs.getByRole('tab', { name: 'Go' })).toBeFocused();
  await expect(tabs.getByRole('tab', { name: 'Go' })).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('example-go')).toContainText('clientcredentials.Config');
  await page.evaluate(() => navigator.clipboard.writeText(''));
  await page.getByRole('button', { name: 'Copy the Go example' }).click();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toContain(`ClientID:     "${id}"`);
  // The choice is remembered on the next page.
  await page.reload();
  await expect(page.getByTestId('example-go')).toBeVisible();

  // The endpoints beside the token endpoint, and the lifetime.
  await expect(page.getByTestId('introspect-url')).toHaveText(`${portal()}/oauth2/introspect`);
  await expect(page.getByTestId('revoke-url')).toHaveText(`${portal()}/oauth2/revoke`);
  await expect(page.getByTestId('token-lifetime')).toHaveText('1 hour');
});

test('Get a test token: decoded claims, local and UTC expiry, recorded in Activity', async ({ page }) => {
  await signIn(page, ADMIN);
  const name = uniqueName('Tested');
  const id = await addApplication(page, name, { 'Incident Response': 'Read & Write' });
  await page.getByRole('button', { name: 'Get a test token' }).click();
  const panel = page.getByTestId('test-panel');
  const claims = JSON.parse((await panel.getByTestId('test-claims').textContent()) ?? '{}');
  expect(claims.client_id).toBe(id);
  expect(claims.iss).toBe(portal());
  expect(claims.scope).toContain('forensics:account:write');
  expect(JSON.parse((await panel.getByTestId('test-header').textContent()) ?? '{}').typ).toBe('at+jwt');
  await expect(panel.getByTestId('test-scopes')).toContainText('forensics:account:read');
  // Tokyo time (GMT+9) with the UTC time beside it.
  const expiry = panel.getByTestId('test-expiry');
  await expect(expiry).toContainText('GMT+9');
  await expect(expiry).toContainText('UTC)');
  expect(Math.abs(claims.exp - claims.iat - 3600)).toBe(0);
  await expect(panel.getByText('How a resource server checks it')).toBeVisible();

  await page.goto(`/applications/${id}/activity`);
  await expect(page.getByTestId('activity').getByText('Test token issued')).toBeVisible();

  // A read-only member is not offered one.
  const viewer = await page.context().browser()!.newContext({ baseURL: portal() });
  const vp = await viewer.newPage();
  await signIn(vp, VIEWER, `/applications/${id}`);
  await expect(vp.getByRole('button', { name: 'Get a test token' })).toHaveCount(0);
  await viewer.close();
});

test('warnings at the moment of a change: no scope, less access, unsaved changes', async ({ page }) => {
  await signIn(page, ADMIN);
  const name = uniqueName('Warned');
  await page.goto('/applications/new');
  const noScope = page.getByTestId('no-scope-warning');
  await expect(noScope).toBeHidden();
  await page.getByLabel('Application name').fill(name);
  await expect(noScope).toBeVisible();
  await expect(noScope).toContainText('will not get access tokens until it has one');
  await scopeAccess(page, 'Incident Response').getByRole('radio', { name: 'Read & Write', exact: true }).check();
  await expect(noScope).toBeHidden();

  // Leaving with unsaved input asks first; staying keeps the input.
  let asked = 0;
  page.once('dialog', async (d) => { asked++; expect(d.type()).toBe('beforeunload'); await d.dismiss(); });
  await page.getByRole('link', { name: 'Cancel' }).click();
  await expect.poll(() => asked).toBe(1);
  await expect(page).toHaveURL(/\/applications\/new$/);
  await expect(page.getByLabel('Application name')).toHaveValue(name);

  await page.getByRole('button', { name: 'Add application' }).click();
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
  await expect(page.getByTestId('flash-warning')).toHaveCount(0);
  const id = page.url().split('/').pop()!;

  // Lowering the access says what happens to issued tokens, before and after saving.
  await page.goto(`/applications/${id}/edit`);
  const row = page.locator('tr[data-scope="forensics:account"]');
  await expect(row.getByTestId('scope-reduced')).toBeHidden();
  await scopeAccess(page, 'Incident Response').getByRole('radio', { name: 'Read', exact: true }).check();
  await expect(row.getByTestId('scope-reduced')).toBeVisible();
  await expect(row.getByTestId('scope-reduced')).toContainText('introspection stops granting it as soon as you save');
  await page.getByRole('button', { name: 'Save application' }).click();
  await expect(page.getByTestId('flash-warning')).toContainText('Removed forensics:account:write');

  // Removing the last scope: the form says so, and so does the saved page.
  await page.goto(`/applications/${id}/edit`);
  await scopeAccess(page, 'Incident Response').getByRole('radio', { name: 'No access', exact: true }).check();
  await expect(page.getByTestId('no-scope-warning')).toBeVisible();
  await page.getByRole('button', { name: 'Save application' }).click();
  await expect(page.getByTestId('flash-warning')).toContainText('has no scope, so it will not get access tokens');

  // An untouched form leaves without asking.
  await page.goto(`/applications/${id}/edit`);
  page.once('dialog', (d) => { asked++; void d.dismiss(); });
  await page.getByRole('link', { name: 'Cancel' }).click();
  await expect(page).toHaveURL(`${portal()}/applications/${id}`);
  expect(asked).toBe(1);
});

test('signed out in another tab: the open page says so, and signing in returns to the filtered list', async ({ page, context }) => {
  await signIn(page, ADMIN);
  await expect(page.getByTestId('session-ends')).toContainText('Signed in until');
  const tag = uniqueName('Other-tab').replace(/\s+/g, '-');
  await addApplication(page, tag);
  await page.goto(`/applications?q=${encodeURIComponent(tag)}`);
  await expect(page.getByTestId('count')).toContainText('1');

  const other = await context.newPage();
  await other.goto('/applications');
  await other.getByRole('button', { name: 'Sign out' }).click();
  await expect(other.getByTestId('signed-out')).toBeVisible();

  await page.bringToFront();
  const banner = page.locator('#session-banner');
  await expect(banner).toBeVisible();
  await expect(banner).toContainText('You signed out in another tab.');
  await banner.getByRole('link', { name: 'Sign in again' }).click();
  await expectProviderLogin(page);
  await fillProviderLogin(page, ADMIN);
  await expect(page).toHaveURL((u) => u.pathname === '/applications' && u.searchParams.get('q') === tag);
  await expect(page.getByRole('searchbox', { name: 'Filter applications' })).toHaveValue(tag);
});

test('a session that ended: the sign-in page says so and keeps where the person was going', async ({ page, context }) => {
  await signIn(page, ADMIN);
  const stale = (await context.cookies()).find((c) => c.name === 'tokenservice_session')!;
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByTestId('signed-out')).toBeVisible();
  // The browser still holds the cookie of a session that no longer exists.
  await context.addCookies([stale]);
  await page.goto('/applications?q=billing');
  await expect(page.getByTestId('session-ended')).toBeVisible();
  await expect(page.getByRole('heading', { level: 1, name: 'Your session has ended' })).toBeVisible();
  await expect(page.getByTestId('return-to')).toHaveText('/applications?q=billing');
  await page.getByRole('link', { name: 'Sign in again' }).click();
  await expectProviderLogin(page);
  await fillProviderLogin(page, ADMIN);
  await expect(page).toHaveURL(`${portal()}/applications?q=billing`);
});

/** Every visible control in the page's main part and header that is shorter than 44 px. */
async function smallTargets(page: Page): Promise<string[]> {
  return page.evaluate(() => Array.from(document.querySelectorAll('header a, header button, header summary, main a.btn, main button, main input:not([type=hidden]):not([type=radio]), main select, main summary'))
    .filter((el) => {
      const r = el.getBoundingClientRect();
      return r.width > 0 && r.height > 0 && r.height < 44;
    })
    .map((el) => `${el.tagName.toLowerCase()} “${(el.textContent || el.getAttribute('aria-label') || '').trim().slice(0, 30)}” ${Math.round(el.getBoundingClientRect().height)}px`));
}

test('on a phone: a compact header, 44 px targets, code that fits; screenshots at 1440 and 375', async ({ browser, page }) => {
  await signIn(page, ADMIN);
  const id = await addApplication(page, uniqueName('Phone'), { 'Incident Response': 'Read' });
  const state = await page.context().storageState();
  for (const width of WIDTHS) {
    const context = await browser.newContext({ baseURL: portal(), viewport: { width, height: 900 }, storageState: state, timezoneId: 'Asia/Tokyo' });
    const p = await context.newPage();
    const shots = new Shots(p);
    await p.goto(`/applications/${id}`);
    await p.getByRole('button', { name: 'Get a test token' }).click();
    await expect(p.getByTestId('test-claims')).toBeVisible();
    // Times in the viewer's zone, UTC on hover.
    const created = p.locator('main time[datetime]').first();
    await expect(created).toHaveAttribute('title', /UTC$/);
    await shots.take('details-with-test-token');
    if (width === 375) {
      const header = await p.locator('header.topbar').boundingBox();
      expect(header!.height).toBeLessThanOrEqual(100);
      expect(await smallTargets(p)).toEqual([]);
      // Code wraps instead of scrolling sideways.
      const wide = await p.locator('pre.example').evaluateAll((pres) => pres.filter((e) => e.scrollWidth > e.clientWidth + 1).length);
      expect(wide).toBe(0);
      // Account, session and Sign out are in the account menu.
      await p.locator('summary.account-menu__button').click();
      await expect(p.locator('.account-menu__panel')).toContainText('Signed in until');
      await expect(p.locator('.account-menu__panel').getByRole('button', { name: 'Sign out' })).toBeVisible();
      await shots.take('account-menu');
    }
    const found = await axe(p, `details with a test token at ${width}px`);
    expect(found.blocking).toEqual([]);
    await p.goto(`/applications/${id}/edit`);
    await scopeAccess(p, 'Incident Response').getByRole('radio', { name: 'No access', exact: true }).check();
    await expect(p.getByTestId('no-scope-warning')).toBeVisible();
    await shots.take('edit-with-warnings');
    if (width === 375) expect(await smallTargets(p)).toEqual([]);
    expect((await axe(p, `edit with warnings at ${width}px`)).blocking).toEqual([]);
    await p.goto('/applications?q=billing');
    await shots.take('list');
    if (width === 375) expect(await smallTargets(p)).toEqual([]);
    expect(shots.overflowing).toEqual([]);
    // Leave the dirty Edit form behind without its prompt.
    await context.close();
  }
});
