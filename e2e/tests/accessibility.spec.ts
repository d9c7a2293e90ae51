import { test, expect } from '@playwright/test';
import { ADMIN, DEMO_PASSWORD, OTHER_ADMIN, VIEWER, addApplication, expectProviderLogin, fillProviderLogin, signIn, uniqueName } from './helpers';
import { AxeReport } from './a11y';

// axe (WCAG 2.0/2.1, A and AA) on every page and state. Serious and critical
// violations fail; minor and moderate ones are listed in the report's annotations.
// The details page after the reveal window is checked in window.spec.ts (short window).

test.describe.configure({ mode: 'parallel' });

test('an admin\'s pages: list, add (with errors), details (secret hidden and shown), edit, confirmations, 404, signed out', async ({ page }) => {
  // Seventeen axe runs: near the default minute on a busy 2-core machine.
  test.setTimeout(120_000);
  const axe = new AxeReport(page);
  await signIn(page, ADMIN);
  await addApplication(page, uniqueName('A11y list'));
  await addApplication(page, `A11y-${'x'.repeat(80)}-${Date.now().toString(36)}`.slice(0, 100));
  await page.goto('/applications');
  await expect(page.getByTestId('applications')).toBeVisible();
  await axe.check('applications (with applications)');

  const filter = page.getByRole('searchbox', { name: 'Filter applications' });
  await filter.fill(`nothing-matches-${Date.now()}`);
  await expect(page.getByText('No matching applications')).toBeVisible();
  await axe.check('applications (filter matches nothing)');

  await page.goto('/applications/new');
  await axe.check('add application');
  await page.getByRole('button', { name: 'Add application' }).click();
  await expect(page.getByTestId('form-errors')).toBeVisible();
  await axe.check('add application with errors');

  const name = uniqueName('A11y check');
  const clientId = await addApplication(page, name);
  await axe.check('details (secret viewable, hidden)');
  await page.getByRole('button', { name: 'Show Client Secret' }).click();
  await expect(page.getByTestId('client-secret')).toBeVisible();
  await axe.check('details (secret shown)');

  await page.goto(`/applications/${clientId}/edit`);
  await axe.check('edit application');
  await page.getByLabel('Application name').fill('');
  await page.getByRole('button', { name: 'Save application' }).click();
  await expect(page.getByTestId('form-errors')).toBeVisible();
  await axe.check('edit application with errors');
  await page.goto('/activity');
  await expect(page.getByTestId('activity')).toBeVisible();
  await axe.check('activity');
  await page.getByLabel('Action').selectOption('secret.revealed');
  await expect(page).toHaveURL(/action=secret.revealed/);
  await axe.check('activity filtered');
  await page.goto(`/applications/${clientId}/activity`);
  await axe.check('activity of one application');
  await page.goto(`/applications/${clientId}/reset`);
  await axe.check('confirm reset');
  await page.goto(`/applications/${clientId}/delete`);
  await axe.check('confirm delete');
  const res = await page.goto('/applications/doesnotexist0000000000000000');
  expect(res?.status()).toBe(404);
  await axe.check('not found (404)');

  await page.goto('/applications');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByTestId('signed-out')).toBeVisible();
  await axe.check('signed out');

  expect(axe.blocking).toEqual({});
});

test('the provider\'s sign-in (also with an error), an empty account, and the read-only member\'s pages', async ({ page, context, browser }) => {
  const axe = new AxeReport(page);
  // The read-only member needs an application to look at.
  const adminContext = await browser.newContext({ baseURL: test.info().project.use.baseURL });
  const admin = await adminContext.newPage();
  await signIn(admin, ADMIN);
  const name = uniqueName('A11y viewer check');
  await addApplication(admin, name);
  await adminContext.close();

  await page.goto('/applications');
  await expectProviderLogin(page);
  await axe.check('provider sign-in');
  await fillProviderLogin(page, ADMIN, `${DEMO_PASSWORD}-wrong`);
  await expect(page.getByRole('alert')).toBeVisible();
  await axe.check('provider sign-in with an error');

  // Nobody registers applications for Globex in these tests: its list is empty.
  await fillProviderLogin(page, OTHER_ADMIN);
  await expect(page.getByTestId('user-email')).toHaveText(OTHER_ADMIN);
  await expect(page.getByTestId('empty-state')).toBeVisible();
  await axe.check('applications (empty account)');

  await context.clearCookies();
  await signIn(page, VIEWER);
  await expect(page.getByTestId('applications')).toBeVisible();
  await axe.check('read-only: applications');
  await page.goto(`/applications?q=${encodeURIComponent(name)}`);
  await page.getByTestId('applications').getByRole('link', { name, exact: true }).click();
  await expect(page.getByTestId('secret-panel')).toContainText('Only admins');
  await axe.check('read-only: details');
  const res = await page.goto('/applications/new');
  expect(res?.status()).toBe(403);
  await axe.check('read-only: forbidden (403)');

  expect(axe.blocking).toEqual({});
});
