import { test, expect } from '@playwright/test';
import { ADMIN, portal, addApplication, expectProviderLogin, scopeAccess, signIn, uniqueName } from './helpers';

test('invalid input re-renders the form with a message per field and keeps what the user typed', async ({ page }) => {
  await signIn(page, ADMIN);
  await page.goto('/applications/new');
  await page.getByLabel('Application name').fill('   ');
  await scopeAccess(page, 'Incident Response').getByRole('radio', { name: 'Read & Write', exact: true }).check();
  await scopeAccess(page, 'Reporting').getByRole('radio', { name: 'Read', exact: true }).check();
  await page.getByRole('button', { name: 'Add application' }).click();

  await expect(page.getByTestId('form-errors')).toContainText('The application was not saved');
  const nameField = page.getByLabel('Application name');
  await expect(nameField).toHaveAttribute('aria-invalid', 'true');
  await expect(page.locator('#name-error')).toBeVisible();
  await expect(nameField).toHaveAccessibleDescription(/Up to 100 characters.*/);
  await expect(scopeAccess(page, 'Incident Response').getByRole('radio', { name: 'Read & Write', exact: true })).toBeChecked();
  await expect(scopeAccess(page, 'Reporting').getByRole('radio', { name: 'Read', exact: true })).toBeChecked();
  await expect(page).toHaveURL(`${portal()}/applications/new`);

  const name = uniqueName('Fixed name');
  await nameField.fill(name);
  await page.getByRole('button', { name: 'Add application' }).click();
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
  await expect(page.getByTestId('scopes')).toContainText('forensics:account:write');
  await expect(page.getByTestId('scopes')).toContainText('reporting:reports:read');
});

test('the live filter narrows the list by name or Client ID', async ({ page }) => {
  await signIn(page, ADMIN);
  const tag = uniqueName('Filterable').replace(/\s+/g, '-');
  const a = await addApplication(page, `${tag} alpha`);
  const b = await addApplication(page, `${tag} beta`);
  await page.goto('/applications');

  const filter = page.getByRole('searchbox', { name: 'Filter applications' });
  await filter.fill(`${tag} alpha`);
  const table = page.getByTestId('applications');
  await expect(table.getByRole('link', { name: `${tag} alpha`, exact: true })).toBeVisible();
  await expect(table.getByRole('link', { name: `${tag} beta`, exact: true })).toHaveCount(0);
  await expect(page.getByTestId('count')).toHaveText('1 matching application');
  await expect(page).toHaveURL(/[?&]q=/);

  await filter.fill(b);
  await expect(table.getByRole('link', { name: `${tag} beta`, exact: true })).toBeVisible();
  await expect(table.getByRole('link', { name: `${tag} alpha`, exact: true })).toHaveCount(0);

  await filter.fill(`${tag} nothing like this`);
  await expect(page.getByText('No matching applications')).toBeVisible();

  await filter.fill('');
  await expect(table.getByText(a)).toBeVisible();
  await expect(table.getByText(b)).toBeVisible();
});

test('an expired session during an htmx request goes back through login and returns to the page', async ({ page, context }) => {
  await signIn(page, ADMIN);
  const name = uniqueName('Expired session');
  const clientId = await addApplication(page, name);
  // The portal session ends (the provider's session is still alive).
  await context.clearCookies({ name: 'tokenservice_session' });
  await page.getByRole('button', { name: 'Show Client Secret' }).click();
  // The provider still knows the user, so the browser comes straight back to the same page.
  await expect(page).toHaveURL(`${portal()}/applications/${clientId}`);
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
  await expect(page.getByTestId('user-email')).toHaveText(ADMIN);
});

test('after signing out, the back button shows no private page', async ({ page }) => {
  await signIn(page, ADMIN);
  const name = uniqueName('Back button');
  await addApplication(page, name);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByTestId('signed-out')).toBeVisible();
  await page.goBack();
  // Either the provider's login page or anything but the application's details.
  await expect(page.getByRole('heading', { level: 1, name })).toHaveCount(0);
  await expect(page.getByTestId('client-id')).toHaveCount(0);
  await expectProviderLogin(page);
});

test('saving over someone else\'s change shows what they did and keeps the user\'s input', async ({ page, context }) => {
  await signIn(page, ADMIN);
  const name = uniqueName('Shared app');
  const clientId = await addApplication(page, name, { 'Incident Response': 'Read' });
  const other = await context.newPage();

  await page.goto(`/applications/${clientId}/edit`);
  await other.goto(`/applications/${clientId}/edit`);

  await other.getByLabel('Application name').fill(`${name} by them`);
  await other.getByRole('button', { name: 'Save application' }).click();
  await expect(other.getByTestId('flash')).toHaveText('Changes saved.');

  await page.getByLabel('Application name').fill(`${name} by me`);
  await scopeAccess(page, 'Reporting').getByRole('radio', { name: 'Read', exact: true }).check();
  await page.getByRole('button', { name: 'Save application' }).click();
  const conflict = page.getByTestId('conflict');
  await expect(conflict).toContainText('Someone else changed this application');
  await expect(conflict).toContainText(`${name} by them`);
  await expect(page.getByLabel('Application name')).toHaveValue(`${name} by me`);
  await expect(scopeAccess(page, 'Reporting').getByRole('radio', { name: 'Read', exact: true })).toBeChecked();

  await page.getByRole('button', { name: 'Save application' }).click();
  await expect(page.getByRole('heading', { level: 1, name: `${name} by me` })).toBeVisible();
  await expect(page.getByTestId('scopes')).toContainText('reporting:reports:read');
});

test('names are shown as text, never as markup', async ({ page }) => {
  await signIn(page, ADMIN);
  const name = `<img src=x onerror=alert(1)> “Quotes” & Ünïcödé ${Date.now()}`;
  let dialogs = 0;
  page.on('dialog', (d) => { dialogs++; void d.dismiss(); });
  const clientId = await addApplication(page, name);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(name);
  await page.goto('/applications');
  await expect(page.getByTestId('applications').getByRole('link', { name, exact: true })).toBeVisible();
  await expect(page.getByTestId('just-added').getByRole('link', { name, exact: true })).toBeVisible();
  await page.goto(`/applications/${clientId}/delete`);
  await expect(page.getByTestId('confirm')).toContainText(`Delete “${name}”?`);
  await page.getByRole('button', { name: 'Delete application' }).click();
  await expect(page.getByRole('status')).toContainText(`Application “${name}” was deleted`);
  expect(dialogs).toBe(0);
  await expect(page.locator('img[src="x"]')).toHaveCount(0);
});

test('the countdown keeps running after the secret is shown and hidden again', async ({ page }) => {
  await signIn(page, ADMIN);
  await addApplication(page, uniqueName('Countdown'));
  const countdown = page.getByTestId('countdown');
  const seconds = async () => {
    const [m, s] = ((await countdown.textContent()) ?? '').trim().split(':').map(Number);
    return m * 60 + s;
  };

  await page.getByRole('button', { name: 'Show Client Secret' }).click();
  await expect(page.getByTestId('client-secret')).toBeVisible();
  const shownAt = await seconds();
  await expect.poll(seconds, { timeout: 4_000 }).toBeLessThan(shownAt);

  await page.getByRole('link', { name: 'Hide' }).click();
  await expect(page.getByTestId('client-secret')).toHaveCount(0);
  const hiddenAt = await seconds();
  await expect.poll(seconds, { timeout: 4_000 }).toBeLessThan(hiddenAt);
});

test('an htmx action on an application deleted meanwhile shows the not-found page', async ({ page, context }) => {
  await signIn(page, ADMIN);
  const clientId = await addApplication(page, uniqueName('Vanishing'));

  const other = await context.newPage();
  await other.goto(`/applications/${clientId}/delete`);
  await other.getByRole('button', { name: 'Delete application' }).click();
  await expect(other).toHaveURL(`${portal()}/applications`);

  await page.getByRole('button', { name: 'Show Client Secret' }).click();
  await expect(page.getByTestId('error-page')).toContainText('Not found');
  await expect(page.getByTestId('client-secret')).toHaveCount(0);
});
