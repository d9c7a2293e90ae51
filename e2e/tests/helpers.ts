import { test, expect, type Page, type Locator, type APIRequestContext } from '@playwright/test';

// The portal and provider of the project the test runs in (see playwright.config.ts).
export const portal = (): string => test.info().project.use.baseURL as string;
export const provider = (): string => (test.info().project.metadata as { provider: string }).provider;
export const DEMO_PASSWORD = 'demo';

export const ADMIN = 'admin@acme.example';
export const VIEWER = 'viewer@acme.example';
export const OTHER_ADMIN = 'admin@globex.example';

/** Expects the bundled provider's sign-in page (not the portal). */
export async function expectProviderLogin(page: Page): Promise<void> {
  await expect(page).toHaveURL((u) => u.origin === provider());
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await expect(page.getByLabel('E-mail')).toBeVisible();
  await expect(page.getByLabel('Password')).toBeVisible();
}

/** Fills in the provider's sign-in form and submits it. */
export async function fillProviderLogin(page: Page, email: string, password = DEMO_PASSWORD): Promise<void> {
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/**
 * Signs in through the provider, starting from a portal page that needs a
 * session, and waits until the browser is back on that page.
 */
export async function signIn(page: Page, email: string, path = '/applications'): Promise<void> {
  await page.goto(path);
  await expectProviderLogin(page);
  await fillProviderLogin(page, email);
  await expect(page).toHaveURL((u) => u.origin === portal() && u.pathname === path);
  await expect(page.getByTestId('user-email')).toHaveText(email);
}

/**
 * The radio group of one scope on the Add/Edit Application form, by its
 * product ("Incident Response") or product and resource ("Reporting Reports").
 */
export function scopeAccess(page: Page, product: string): Locator {
  const escaped = product.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return page.getByRole('group', { name: new RegExp(`^Access to ${escaped}( |$)`) });
}

/** Registers an application through the Add Application page; returns its Client ID. */
export async function addApplication(
  page: Page,
  name: string,
  access: Record<string, string> = { 'Incident Response': 'Read' },
): Promise<string> {
  await page.goto('/applications/new');
  await expect(page.getByRole('heading', { level: 1, name: 'Add Application' })).toBeVisible();
  await page.getByLabel('Application name').fill(name);
  for (const [product, choice] of Object.entries(access)) {
    await scopeAccess(page, product).getByRole('radio', { name: choice, exact: true }).check();
  }
  await page.getByRole('button', { name: 'Add application' }).click();
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
  const id = (await page.getByTestId('client-id').textContent())?.trim() ?? '';
  expect(id).not.toBe('');
  return id;
}

/** Signs out from the header, or from the account menu where the header folds into one (phones). */
export async function signOut(page: Page): Promise<void> {
  const inline = page.locator('header form.topbar__wide').getByRole('button', { name: 'Sign out' });
  if (await inline.isVisible()) {
    await inline.click();
  } else {
    await page.locator('summary.account-menu__button').click();
    await page.locator('.account-menu__panel').getByRole('button', { name: 'Sign out' }).click();
  }
}

/** A name no other test run uses. */
export function uniqueName(prefix: string): string {
  return `${prefix} ${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
}

/** Clicks a copy button, waits for its "Copied" announcement and returns the clipboard. */
export async function copyFrom(page: Page, buttonName: string, statusId: string): Promise<string> {
  // Clear the clipboard first, so an earlier value cannot pass for this one.
  await page.evaluate(() => navigator.clipboard.writeText(''));
  await page.getByRole('button', { name: buttonName }).click();
  await expect(page.locator(`#${statusId}`)).toHaveText('Copied');
  return page.evaluate(() => navigator.clipboard.readText());
}

/** What the token endpoint answered: the status and the JSON body. */
export interface TokenAnswer {
  status: number;
  body: { access_token?: string; token_type?: string; scope?: string; error?: string };
}

/**
 * Asks the token endpoint for an access token the way an application does:
 * client credentials grant, HTTP Basic client authentication.
 */
export async function requestToken(request: APIRequestContext, clientId: string, secret: string, scope?: string): Promise<TokenAnswer> {
  const form: Record<string, string> = { grant_type: 'client_credentials' };
  if (scope) form.scope = scope;
  const res = await request.post(`${portal()}/oauth2/token`, {
    form,
    headers: { Authorization: 'Basic ' + btoa(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`) },
  });
  return { status: res.status(), body: await res.json() };
}

/** The scope claim of an access token (decoded, not verified: the Go tests verify). */
export function tokenScope(accessToken: string): string {
  const segment = accessToken.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
  const payload = JSON.parse(atob(segment + '='.repeat((4 - (segment.length % 4)) % 4)));
  return payload.scope as string;
}

/** The page's own CSRF token (the portal puts it in a meta tag for htmx and app.js). */
export async function csrfToken(page: Page): Promise<string> {
  const token = await page.locator('meta[name="csrf-token"]').getAttribute('content');
  expect(token, 'the page carries a CSRF token').toBeTruthy();
  return token!;
}

/**
 * POSTs to the portal through the page's own session (its cookies) with the
 * page's CSRF token, the way a forged or scripted request from a signed-in
 * browser would. Redirects are not followed, so the answer is the server's own.
 */
export async function postWithSession(
  page: Page, path: string, form: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const token = await csrfToken(page);
  const res = await page.request.post(`${portal()}${path}`, {
    form: { _csrf: token, ...form },
    headers: { 'X-CSRF-Token': token, Accept: 'text/html, text/plain' },
    maxRedirects: 0,
  });
  return { status: res.status(), body: await res.text() };
}

/** Tags of the accessibility checks: WCAG 2.0 and 2.1, levels A and AA. */
export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
