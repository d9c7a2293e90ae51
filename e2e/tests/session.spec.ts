import { test, expect } from '@playwright/test';
import {
  ADMIN, portal, addApplication, expectProviderLogin, fillProviderLogin, scopeAccess, signIn, uniqueName,
} from './helpers';

// Item 9: a session that ends while the user is on a page sends the next htmx
// action back through login, and the user lands on the same page again: the
// whole page, never a fragment of it or an error.

test('Show Client Secret after both sessions ended: the provider asks to sign in, then the same page comes back whole', async ({ page, context }) => {
  await signIn(page, ADMIN);
  const name = uniqueName('Expired everywhere');
  const clientId = await addApplication(page, name);

  // The portal's session and the provider's are both gone (expired, or ended elsewhere).
  await context.clearCookies();
  await page.getByRole('button', { name: 'Show Client Secret' }).click();

  await expectProviderLogin(page);
  await fillProviderLogin(page, ADMIN);
  await expect(page).toHaveURL(`${portal()}/applications/${clientId}`);
  // The whole page, with its frame, not the secret panel fragment on its own.
  await expect(page.getByTestId('user-email')).toHaveText(ADMIN);
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
  await expect(page.getByTestId('client-id')).toHaveText(clientId);
  await expect(page.getByRole('button', { name: 'Show Client Secret' })).toBeVisible();
  await expect(page.locator('#secret-panel')).toHaveCount(1);
  // And the action works now.
  await page.getByRole('button', { name: 'Show Client Secret' }).click();
  await expect(page.getByTestId('client-secret')).toHaveText(/^tss_/);
});

test('the live filter after the session ended comes back to the list with the filter it had', async ({ page, context }) => {
  await signIn(page, ADMIN);
  const tag = uniqueName('Expiring filter').replace(/\s+/g, '-');
  const clientId = await addApplication(page, `${tag} one`);
  await page.goto('/applications');
  const filter = page.getByRole('searchbox', { name: 'Filter applications' });
  await filter.fill(tag);
  await expect(page.getByTestId('count')).toHaveText('1 matching application');
  await expect(page).toHaveURL(new RegExp(`[?&]q=${encodeURIComponent(tag)}`));

  await context.clearCookies({ name: 'tokenservice_session' });
  await filter.fill(`${tag} on`);

  // Back through login (the provider still knows the user) to the list as it was.
  await expect(page).toHaveURL((u) => u.origin === portal() && u.pathname === '/applications' && u.searchParams.get('q') === tag);
  await expect(page.getByTestId('user-email')).toHaveText(ADMIN);
  await expect(page.getByRole('heading', { level: 1, name: 'Applications' })).toBeVisible();
  await expect(page.getByRole('searchbox', { name: 'Filter applications' })).toHaveValue(tag);
  await expect(page.getByTestId('applications').getByText(clientId)).toBeVisible();
  // There is exactly one page frame: no page nested in the table.
  await expect(page.locator('header.topbar')).toHaveCount(1);
});

test('saving the Edit form after the session ended goes through login back to the Edit page with the unsaved input, and nothing half-saved', async ({ page, context }) => {
  await signIn(page, ADMIN);
  const name = uniqueName('Expiring edit');
  const clientId = await addApplication(page, name, { 'Incident Response': 'Read' });
  await page.goto(`/applications/${clientId}/edit`);

  await context.clearCookies();
  await page.getByLabel('Application name').fill(`${name} renamed`);
  await scopeAccess(page, 'Reporting').getByRole('radio', { name: 'Read', exact: true }).check();
  await page.getByRole('button', { name: 'Save application' }).click();

  await expectProviderLogin(page);
  await fillProviderLogin(page, ADMIN);
  await expect(page).toHaveURL(`${portal()}/applications/${clientId}/edit`);
  await expect(page.getByRole('heading', { level: 1, name: 'Edit Application' })).toBeVisible();
  await expect(page.locator('header.topbar')).toHaveCount(1);
  // What the user typed is back in the form, with a notice that it was not saved.
  await expect(page.getByTestId('unsaved-restored')).toBeVisible();
  await expect(page.getByTestId('unsaved-restored')).toContainText('signed out before your changes were saved');
  await expect(page.getByLabel('Application name')).toHaveValue(`${name} renamed`);
  await expect(scopeAccess(page, 'Reporting').getByRole('radio', { name: 'Read', exact: true })).toBeChecked();
  await expect(scopeAccess(page, 'Incident Response').getByRole('radio', { name: 'Read', exact: true })).toBeChecked();

  // The POST without a session saved nothing: the application is as it was.
  await page.goto(`/applications/${clientId}`);
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
  await expect(page.getByTestId('scopes')).not.toContainText('Reporting');

  // Only once: the Edit page opened again shows the stored values, no notice.
  await page.goto(`/applications/${clientId}/edit`);
  await expect(page.getByLabel('Application name')).toHaveValue(name);
  await expect(page.getByTestId('unsaved-restored')).toBeHidden();

  // Saving the restored input after signing in works.
  await page.getByLabel('Application name').fill(`${name} renamed`);
  await page.getByRole('button', { name: 'Save application' }).click();
  await expect(page.getByRole('heading', { level: 1, name: `${name} renamed` })).toBeVisible();
});
