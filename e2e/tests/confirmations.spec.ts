import { test, expect } from '@playwright/test';
import { ADMIN, portal, addApplication, copyFrom, requestToken, signIn, uniqueName } from './helpers';

// Items 5 and 6: RESET CLIENT SECRET and DELETE APPLICATION ask first; the
// question itself changes nothing, and Cancel leaves everything as it was.

test('cancelling the reset and delete confirmations changes nothing', async ({ page, context, request }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: portal() });
  await signIn(page, ADMIN);
  const name = uniqueName('Second thoughts');
  const clientId = await addApplication(page, name, { 'Incident Response': 'Read' });
  const secret = await copyFrom(page, 'Copy Client Secret', 'secret-status');
  expect((await requestToken(request, clientId, secret)).status).toBe(200);

  await test.step('reset: the question names the application and says what happens; Cancel keeps the secret', async () => {
    await page.getByRole('link', { name: 'Edit', exact: true }).click();
    await page.getByRole('link', { name: 'Reset client secret' }).click();
    await expect(page).toHaveURL(`${portal()}/applications/${clientId}/reset`);
    await expect(page.getByRole('heading', { level: 1, name: 'Reset client secret' })).toBeVisible();
    const confirm = page.getByTestId('confirm');
    await expect(confirm).toContainText(`Reset the Client Secret of “${name}”?`);
    await expect(confirm).toContainText('they stop working immediately');
    await expect(confirm.getByRole('button', { name: 'Reset client secret' })).toBeVisible();

    await confirm.getByRole('link', { name: 'Cancel' }).click();
    await expect(page).toHaveURL(`${portal()}/applications/${clientId}/edit`);
    expect((await requestToken(request, clientId, secret)).status).toBe(200);
    await page.goto(`/applications/${clientId}`);
    await expect(page.getByTestId('countdown')).toBeVisible();
    expect(await copyFrom(page, 'Copy Client Secret', 'secret-status')).toBe(secret);
  });

  await test.step('delete: the question names the application and says it cannot be undone; Cancel keeps it', async () => {
    await page.getByRole('link', { name: 'Edit', exact: true }).click();
    await page.getByRole('link', { name: 'Delete application' }).click();
    await expect(page).toHaveURL(`${portal()}/applications/${clientId}/delete`);
    await expect(page.getByRole('heading', { level: 1, name: 'Delete application' })).toBeVisible();
    const confirm = page.getByTestId('confirm');
    await expect(confirm).toContainText(`Delete “${name}”?`);
    await expect(confirm).toContainText('This cannot be undone.');

    await confirm.getByRole('link', { name: 'Cancel' }).click();
    await expect(page).toHaveURL(`${portal()}/applications/${clientId}/edit`);
    await page.goto(`/applications?q=${encodeURIComponent(clientId)}`);
    await expect(page.getByTestId('applications').getByRole('link', { name, exact: true })).toBeVisible();
    expect((await requestToken(request, clientId, secret)).status).toBe(200);
  });
});
