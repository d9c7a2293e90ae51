import { test, expect } from '@playwright/test';
import {
  ADMIN, portal, copyFrom, expectProviderLogin, fillProviderLogin, requestToken, scopeAccess, tokenScope, uniqueName,
} from './helpers';

test('an admin signs in, registers an application, copies its secret, edits, resets, deletes it and signs out', async ({ page, context, request }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: portal() });
  const name = uniqueName('SIEM export');
  const renamed = `${name} (renamed)`;

  await test.step('an unauthenticated visit goes through the provider and comes back', async () => {
    await page.goto('/applications');
    await expectProviderLogin(page);
    await fillProviderLogin(page, ADMIN);
    await expect(page).toHaveURL(`${portal()}/applications`);
    await expect(page.getByRole('heading', { level: 1, name: 'Applications' })).toBeVisible();
    await expect(page.getByTestId('user-email')).toHaveText(ADMIN);
  });

  let clientId = '';
  let firstSecret = '';
  let latestSecret = '';

  await test.step('add an application with access per scope', async () => {
    // The button at the top right of the page (the empty state may show a second one).
    const add = page.locator('.page-head').getByRole('link', { name: 'Add application' });
    await expect(add).toHaveText(/^add application$/i);
    const box = (await add.boundingBox())!;
    const heading = (await page.getByRole('heading', { level: 1, name: 'Applications' }).boundingBox())!;
    const viewport = page.viewportSize()!;
    expect(box.x + box.width, 'at the right').toBeGreaterThan(viewport.width * 0.75);
    expect(box.y, 'at the top, level with the heading').toBeLessThan(heading.y + heading.height);
    await add.click();
    await expect(page.getByRole('heading', { level: 1, name: 'Add Application' })).toBeVisible();
    await page.getByLabel('Application name').fill(name);
    await scopeAccess(page, 'Incident Response').getByRole('radio', { name: 'Read & Write', exact: true }).check();
    await scopeAccess(page, 'Email Gateway Defense').getByRole('radio', { name: 'Read', exact: true }).check();
    await page.getByRole('button', { name: 'Add application' }).click();

    await expect(page).toHaveURL(/\/applications\/[^/]+$/);
    await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
    await expect(page.getByTestId('flash')).toContainText('Application registered');
    const scopes = page.getByTestId('scopes');
    await expect(scopes.getByRole('listitem').filter({ hasText: 'Incident Response · Account' })).toContainText('Read & Write');
    await expect(scopes.getByRole('listitem').filter({ hasText: 'Email Gateway Defense · Account' })).toContainText('Read');
    await expect(scopes).toContainText('forensics:account:write');
    await expect(scopes).toContainText('ess:account:read');
  });

  await test.step('the Client ID is shown and can be copied', async () => {
    clientId = (await page.getByTestId('client-id').innerText()).trim();
    expect(clientId).toMatch(/^[A-Za-z0-9_-]{8,}$/);
    expect(page.url()).toBe(`${portal()}/applications/${clientId}`);
    expect(await copyFrom(page, 'Copy Client ID', 'client-id-status')).toBe(clientId);
  });

  await test.step('the Client Secret can be copied and shown during the reveal window', async () => {
    await expect(page.getByTestId('countdown')).toBeVisible();
    await expect(page.getByTestId('countdown')).toHaveText(/^1?\d:[0-5]\d$/);
    // Hidden until the user asks to see it.
    await expect(page.getByTestId('client-secret')).toHaveCount(0);

    firstSecret = await copyFrom(page, 'Copy Client Secret', 'secret-status');
    expect(firstSecret).toMatch(/^tss_/);
    expect(firstSecret.length).toBeGreaterThanOrEqual(40);

    await page.getByRole('button', { name: 'Show Client Secret' }).click();
    await expect(page.getByTestId('client-secret')).toHaveText(firstSecret);
    await expect(page.getByTestId('countdown')).toBeVisible();
    // Still copyable after showing it.
    expect(await copyFrom(page, 'Copy Client Secret', 'secret-status')).toBe(firstSecret);
    // The secret is never part of the page's address.
    expect(page.url()).not.toContain(firstSecret);
  });

  await test.step('the copied credentials get an access token with the chosen scopes', async () => {
    await expect(page.getByTestId('token-url')).toHaveText(`${portal()}/oauth2/token`);
    await expect(page.getByTestId('example-curl')).toContainText(clientId);
    const answer = await requestToken(request, clientId, firstSecret);
    expect(answer.status).toBe(200);
    expect(answer.body.token_type).toBe('Bearer');
    expect(answer.body.scope?.split(' ').sort()).toEqual(['ess:account:read', 'forensics:account:read', 'forensics:account:write']);
    // The Details page counts it (the counters are written every few seconds).
    await expect(async () => {
      await page.reload();
      await expect(page.getByTestId('tokens-last-day')).toHaveText('1', { timeout: 1000 });
    }).toPass({ timeout: 15_000 });
    await expect(page.getByTestId('last-token')).not.toHaveText('Never');
  });

  await test.step('edit: rename and change the scope access', async () => {
    await page.locator('.page-head').getByRole('link', { name: 'Edit' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Edit Application' })).toBeVisible();
    await expect(page.getByLabel('Application name')).toHaveValue(name);
    await expect(scopeAccess(page, 'Incident Response').getByRole('radio', { name: 'Read & Write', exact: true })).toBeChecked();
    await expect(scopeAccess(page, 'Email Gateway Defense').getByRole('radio', { name: 'Read', exact: true })).toBeChecked();

    await page.getByLabel('Application name').fill(renamed);
    await scopeAccess(page, 'Incident Response').getByRole('radio', { name: 'Read', exact: true }).check();
    await scopeAccess(page, 'Email Gateway Defense').getByRole('radio', { name: 'No access', exact: true }).check();
    await page.getByRole('button', { name: 'Save application' }).click();

    await expect(page).toHaveURL(`${portal()}/applications/${clientId}`);
    await expect(page.getByRole('heading', { level: 1, name: renamed })).toBeVisible();
    await expect(page.getByTestId('flash')).toHaveText('Changes saved.');
    await expect(page.getByTestId('client-id')).toHaveText(clientId);
    const scopes = page.getByTestId('scopes');
    const ir = scopes.getByRole('listitem').filter({ hasText: 'Incident Response · Account' });
    await expect(ir).toContainText('Read');
    await expect(ir).not.toContainText('Read & Write');
    await expect(ir).toContainText('forensics:account:read');
    await expect(scopes).not.toContainText('forensics:account:write');
    await expect(scopes).not.toContainText('Email Gateway Defense');

    // A token issued now carries the new scopes.
    const answer = await requestToken(request, clientId, firstSecret);
    expect(answer.status).toBe(200);
    expect(tokenScope(answer.body.access_token!)).toBe('forensics:account:read');
  });

  await test.step('reset the client secret after confirming', async () => {
    await page.locator('.page-head').getByRole('link', { name: 'Edit' }).click();
    await page.getByRole('link', { name: 'Reset client secret' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Reset client secret' })).toBeVisible();
    await expect(page.getByTestId('confirm')).toContainText(renamed);
    await page.getByRole('button', { name: 'Reset client secret' }).click();

    await expect(page).toHaveURL(`${portal()}/applications/${clientId}`);
    await expect(page.getByTestId('flash')).toContainText('The Client Secret was reset');
    await expect(page.getByTestId('countdown')).toBeVisible();
    const newSecret = await copyFrom(page, 'Copy Client Secret', 'secret-status');
    expect(newSecret).toMatch(/^tss_/);
    expect(newSecret).not.toBe(firstSecret);
    await page.getByRole('button', { name: 'Show Client Secret' }).click();
    await expect(page.getByTestId('client-secret')).toHaveText(newSecret);

    // The Client ID has not changed.
    await expect(page.getByTestId('client-id')).toHaveText(clientId);
    // The old secret is refused at once; the new one works.
    const old = await requestToken(request, clientId, firstSecret);
    expect(old.status).toBe(401);
    expect(old.body.error).toBe('invalid_client');
    const fresh = await requestToken(request, clientId, newSecret);
    expect(fresh.status).toBe(200);
    latestSecret = newSecret;
  });

  await test.step('delete the application after confirming', async () => {
    await page.locator('.page-head').getByRole('link', { name: 'Edit' }).click();
    await page.getByRole('link', { name: 'Delete application' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Delete application' })).toBeVisible();
    await expect(page.getByTestId('confirm')).toContainText(renamed);
    await page.getByRole('button', { name: 'Delete application' }).click();

    await expect(page).toHaveURL(`${portal()}/applications`);
    await expect(page.getByRole('status')).toContainText(`Application “${renamed}” was deleted`);
    await expect(page.getByRole('link', { name: renamed })).toHaveCount(0);
    await expect(page.getByText(clientId)).toHaveCount(0);

    // Its credentials are refused.
    const answer = await requestToken(request, clientId, latestSecret);
    expect(answer.status).toBe(401);
    expect(answer.body.error).toBe('invalid_client');

    // Its details page is gone too.
    const res = await page.goto(`/applications/${clientId}`);
    expect(res?.status()).toBe(404);
    await expect(page.getByTestId('error-page')).toContainText('Not found');
  });

  await test.step('sign out; the next visit asks the provider again', async () => {
    await page.goto('/applications');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page).toHaveURL(`${portal()}/auth/signed-out`);
    await expect(page.getByRole('heading', { level: 1, name: 'You have signed out' })).toBeVisible();
    await expect(page.getByTestId('user-email')).toHaveCount(0);

    await page.goto('/applications');
    await expectProviderLogin(page);
  });
});
