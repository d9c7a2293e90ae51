import { test, expect } from '@playwright/test';
import { ADMIN, OTHER_ADMIN, portal, provider, expectProviderLogin, signIn } from './helpers';
import { shoot } from './shots';

// The bundled provider's protections, in a real browser: a sign-in request
// belongs to the browser that started it, and nothing signs a user out of the
// provider behind their back.

test('a sign-in started in another browser is refused, not completed, in the victim\'s browser', async ({ browser }) => {
  const victimContext = await browser.newContext({ baseURL: portal() });
  const attackerContext = await browser.newContext({ baseURL: portal() });
  const victim = await victimContext.newPage();
  const attacker = await attackerContext.newPage();
  await signIn(victim, ADMIN);

  // The attacker starts a sign-in and sends its provider link to the victim.
  await attacker.goto('/applications');
  await expectProviderLogin(attacker);
  const link = attacker.url();

  await victim.goto(link);
  await expect(victim).toHaveURL((u) => u.origin === provider());
  await expect(victim.getByRole('heading', { name: 'Sign-in started elsewhere' })).toBeVisible();
  await expect(victim.getByTestId('message')).toContainText('started in another browser');
  await expect(victim.getByTestId('login-form')).toHaveCount(0);
  await shoot(victim, 'provider-started-elsewhere');

  // The attacker's browser gets no code for it and stays signed out of the portal.
  const id = new URL(link).searchParams.get('authRequestID') ?? '';
  await attacker.goto(`${provider()}/authorize/callback?id=${encodeURIComponent(id)}`);
  await attacker.goto(`${portal()}/applications`);
  await expectProviderLogin(attacker);

  // The victim is still signed in to the portal, as themselves.
  await victim.goto(`${portal()}/applications`);
  await expect(victim.getByTestId('user-email')).toHaveText(ADMIN);
  await victimContext.close();
  await attackerContext.close();
});

test('a bare link to end_session asks first, and only the confirmation signs out', async ({ page }) => {
  await signIn(page, OTHER_ADMIN);
  await page.goto(`${provider()}/end_session`);
  await expect(page.getByRole('heading', { name: 'Sign out of BCC?' })).toBeVisible();
  await expect(page.getByTestId('message')).toContainText(OTHER_ADMIN);
  await shoot(page, 'provider-confirm-sign-out');

  // Not confirmed: the provider session lives on (a new portal sign-in needs no password).
  await page.context().clearCookies({ name: 'tokenservice_session' });
  await page.goto(`${portal()}/applications`);
  await expect(page.getByTestId('user-email')).toHaveText(OTHER_ADMIN);

  // Confirmed: it ends, and the next sign-in asks for the password.
  await page.goto(`${provider()}/end_session`);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { name: 'Signed out' })).toBeVisible();
  await page.context().clearCookies({ name: 'tokenservice_session' });
  await page.goto(`${portal()}/applications`);
  await expectProviderLogin(page);
});
