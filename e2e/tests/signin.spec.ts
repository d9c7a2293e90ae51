import { test, expect } from '@playwright/test';
import {
  ADMIN, DEMO_PASSWORD, portal, provider, addApplication, expectProviderLogin, fillProviderLogin, signIn, uniqueName,
} from './helpers';

// Item 1 of the seed document: "If you are currently not logged into BCC, you
// will need to log in using your BCC user credentials before you are
// redirected to the Token Service."

test('a visit without a session to a deep page goes through the provider and comes back to that very page', async ({ page, context }) => {
  // Asking for the Add Application page first comes back to it, not to the list.
  await signIn(page, ADMIN, '/applications/new');
  await expect(page.getByRole('heading', { level: 1, name: 'Add Application' })).toBeVisible();
  const name = uniqueName('Deep link');
  const clientId = await addApplication(page, name);

  // Nobody is signed in any more: neither the portal nor the provider knows the browser.
  await context.clearCookies();
  const wanted = `/applications/${clientId}/edit`;
  await page.goto(wanted);
  await expectProviderLogin(page);
  await expect(page.getByTestId('user-email')).toHaveCount(0);
  await expect(page.getByText(name)).toHaveCount(0);
  await fillProviderLogin(page, ADMIN);

  await expect(page).toHaveURL(`${portal()}${wanted}`);
  await expect(page.getByRole('heading', { level: 1, name: 'Edit Application' })).toBeVisible();
  await expect(page.getByLabel('Application name')).toHaveValue(name);
  await expect(page.getByTestId('user-email')).toHaveText(ADMIN);
});

test('a wrong password shows the provider\'s error and signs nobody in', async ({ page }) => {
  await page.goto('/applications');
  await expectProviderLogin(page);
  await fillProviderLogin(page, ADMIN, `${DEMO_PASSWORD}-wrong`);

  // Still at the provider, with its message, the e-mail kept and the password not.
  await expect(page).toHaveURL((u) => u.origin === provider());
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await expect(page.getByRole('alert')).toHaveText('Incorrect e-mail or password.');
  await expect(page.getByLabel('E-mail')).toHaveValue(ADMIN);
  await expect(page.getByLabel('Password')).toHaveValue('');

  // An unknown user gets the very same answer (no hint which accounts exist).
  await fillProviderLogin(page, 'nobody@acme.example', DEMO_PASSWORD);
  await expect(page.getByRole('alert')).toHaveText('Incorrect e-mail or password.');

  // The portal still has no session: it sends the browser to the provider again.
  const res = await page.goto(`${portal()}/applications`);
  expect(res?.ok()).toBe(true);
  await expectProviderLogin(page);
  await expect(page.getByTestId('user-email')).toHaveCount(0);
  await expect(page.getByRole('heading', { level: 1, name: 'Applications' })).toHaveCount(0);

  // The right password works from here.
  await fillProviderLogin(page, ADMIN);
  await expect(page).toHaveURL(`${portal()}/applications`);
  await expect(page.getByTestId('user-email')).toHaveText(ADMIN);
});

test('signing out ends the session for good: its old cookies open nothing', async ({ page, context }) => {
  await signIn(page, ADMIN);
  const name = uniqueName('Signed out');
  const clientId = await addApplication(page, name);
  const before = await context.cookies();
  const portalCookies = before.filter((c) => c.name === 'tokenservice_session');
  expect(portalCookies).toHaveLength(1);

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(`${portal()}/auth/signed-out`);
  await expect(page.getByRole('heading', { level: 1, name: 'You have signed out' })).toBeVisible();
  await expect(page.getByTestId('user-email')).toHaveCount(0);

  // Put the portal's old session cookie back, as someone who copied it would:
  // the server has deleted that session.
  // The portal says the session ended, and shows nothing of the account.
  await context.addCookies(portalCookies);
  await page.goto(`/applications/${clientId}`);
  await expect(page.getByTestId('session-ended')).toBeVisible();
  await expect(page.getByText(name)).toHaveCount(0);
  await expect(page.getByTestId('user-email')).toHaveCount(0);

  // Every old cookie back, the provider's too: its session has ended as well.
  await context.clearCookies();
  await context.addCookies(before);
  await page.goto(`/applications/${clientId}`);
  await expect(page.getByTestId('session-ended')).toBeVisible();
  await page.getByRole('link', { name: 'Sign in again' }).click();
  await expectProviderLogin(page);
  await expect(page.getByText(name)).toHaveCount(0);
});
