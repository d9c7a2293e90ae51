import { test, expect, type Locator, type Page } from '@playwright/test';
import { ADMIN, DEMO_PASSWORD, portal, expectProviderLogin, requestToken, scopeAccess, tokenScope, uniqueName } from './helpers';

// The whole golden path with the keyboard alone: Tab / Shift+Tab to move,
// Enter / Space to activate, arrow keys in radio groups, typing into fields.
// No click, check or fill anywhere in this file.

/**
 * Presses Tab (or Shift+Tab) until `target` has the focus, and checks that the
 * focus can be seen there. Fails if the target cannot be reached.
 */
async function tabTo(page: Page, target: Locator, key: 'Tab' | 'Shift+Tab' = 'Tab', max = 60): Promise<void> {
  await target.waitFor();
  for (let i = 0; i <= max; i++) {
    if (await target.evaluate((el) => el === document.activeElement)) {
      const visible = await target.evaluate((el) => {
        const shows = (e: Element | null) => {
          if (!e) return false;
          const s = getComputedStyle(e);
          return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none';
        };
        return el.matches(':focus-visible') && (shows(el) || shows(el.closest('label')));
      });
      expect(visible, `the focus on ${target} can be seen`).toBe(true);
      return;
    }
    await page.keyboard.press(key);
  }
  throw new Error(`${target} cannot be reached with ${key}`);
}

/** Selects what is in the focused text field and types over it. */
async function typeOver(page: Page, text: string): Promise<void> {
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Backspace');
  await page.keyboard.type(text);
}

/** The radio group's checked choice (the one Tab lands on). */
const checkedIn = (group: Locator): Locator => group.getByRole('radio', { checked: true });

/** Presses a copy button with the keyboard and returns what it put on the clipboard. */
async function copyWithKeyboard(page: Page, button: Locator, statusId: string, key: 'Enter' | 'Space'): Promise<string> {
  await page.evaluate(() => navigator.clipboard.writeText(''));
  await tabTo(page, button);
  await page.keyboard.press(key);
  await expect(page.locator(`#${statusId}`)).toHaveText('Copied');
  return page.evaluate(() => navigator.clipboard.readText());
}

test('the golden path with the keyboard only: sign in, add, copy, edit, reset, delete, sign out', async ({ page, context, request }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: portal() });
  const name = uniqueName('Keyboard app');
  const renamed = `${name} renamed`;
  let clientId = '';
  let secret = '';

  await test.step('sign in at the provider', async () => {
    await page.goto('/applications');
    await expectProviderLogin(page);
    await tabTo(page, page.getByLabel('E-mail'));
    await page.keyboard.type(ADMIN);
    await tabTo(page, page.getByLabel('Password'));
    await page.keyboard.type(DEMO_PASSWORD);
    await page.keyboard.press('Enter');
    await expect(page).toHaveURL(`${portal()}/applications`);
    await expect(page.getByTestId('user-email')).toHaveText(ADMIN);
  });

  await test.step('skip to the content, then ADD APPLICATION', async () => {
    await page.keyboard.press('Tab');
    const skip = page.getByRole('link', { name: 'Skip to content' });
    await expect(skip).toBeFocused();
    await expect(skip).toBeInViewport();
    await page.keyboard.press('Enter');
    await tabTo(page, page.locator('.page-head').getByRole('link', { name: 'Add application' }));
    await page.keyboard.press('Enter');
    await expect(page.getByRole('heading', { level: 1, name: 'Add Application' })).toBeVisible();
  });

  await test.step('name it, choose the access with the arrow keys, and add it', async () => {
    await tabTo(page, page.getByLabel('Application name'));
    await page.keyboard.type(name);

    const ir = scopeAccess(page, 'Incident Response');
    await tabTo(page, checkedIn(ir));
    await expect(ir.getByRole('radio', { name: 'No access', exact: true })).toBeFocused();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await expect(ir.getByRole('radio', { name: 'Read & Write', exact: true })).toBeChecked();
    await expect(ir.getByRole('radio', { name: 'Read & Write', exact: true })).toBeFocused();

    // Shift+Tab goes back to the group before: Email Gateway Defense.
    const egd = scopeAccess(page, 'Email Gateway Defense');
    await tabTo(page, checkedIn(egd), 'Shift+Tab');
    await page.keyboard.press('ArrowDown');
    await expect(egd.getByRole('radio', { name: 'Read', exact: true })).toBeChecked();

    await tabTo(page, page.getByRole('button', { name: 'Add application' }));
    await page.keyboard.press('Enter');
    await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
    clientId = (await page.getByTestId('client-id').innerText()).trim();
    await expect(page.getByTestId('scopes')).toContainText('forensics:account:write');
    await expect(page.getByTestId('scopes')).toContainText('ess:account:read');
  });

  await test.step('copy the Client ID and the Client Secret, show the secret, and get a token with them', async () => {
    expect(await copyWithKeyboard(page, page.getByRole('button', { name: 'Copy Client ID' }), 'client-id-status', 'Enter')).toBe(clientId);
    secret = await copyWithKeyboard(page, page.getByRole('button', { name: 'Copy Client Secret' }), 'secret-status', 'Enter');
    expect(secret).toMatch(/^tss_/);

    await tabTo(page, page.getByRole('button', { name: 'Show Client Secret' }), 'Shift+Tab');
    await page.keyboard.press('Space');
    await expect(page.getByTestId('client-secret')).toHaveText(secret);

    const answer = await requestToken(request, clientId, secret);
    expect(answer.status).toBe(200);
    expect(answer.body.scope?.split(' ').sort()).toEqual(['ess:account:read', 'forensics:account:read', 'forensics:account:write']);
  });

  await test.step('edit: rename, change the access, SAVE APPLICATION', async () => {
    await tabTo(page, page.locator('.page-head').getByRole('link', { name: 'Edit', exact: true }));
    await page.keyboard.press('Enter');
    await expect(page.getByRole('heading', { level: 1, name: 'Edit Application' })).toBeVisible();

    await tabTo(page, page.getByLabel('Application name'));
    await typeOver(page, renamed);
    const ir = scopeAccess(page, 'Incident Response');
    await tabTo(page, checkedIn(ir));
    await page.keyboard.press('ArrowLeft');
    await expect(ir.getByRole('radio', { name: 'Read', exact: true })).toBeChecked();
    await tabTo(page, page.getByRole('button', { name: 'Save application' }));
    await page.keyboard.press('Enter');

    await expect(page).toHaveURL(`${portal()}/applications/${clientId}`);
    await expect(page.getByRole('heading', { level: 1, name: renamed })).toBeVisible();
    await expect(page.getByTestId('flash')).toHaveText('Changes saved.');
    const answer = await requestToken(request, clientId, secret);
    expect(answer.status).toBe(200);
    expect(tokenScope(answer.body.access_token!).split(' ').sort()).toEqual(['ess:account:read', 'forensics:account:read']);
  });

  await test.step('reset the client secret through its confirmation', async () => {
    await tabTo(page, page.locator('.page-head').getByRole('link', { name: 'Edit', exact: true }));
    await page.keyboard.press('Enter');
    await tabTo(page, page.getByRole('link', { name: 'Reset client secret' }));
    await page.keyboard.press('Enter');
    await expect(page.getByRole('heading', { level: 1, name: 'Reset client secret' })).toBeVisible();
    await tabTo(page, page.getByRole('button', { name: 'Reset client secret' }));
    await page.keyboard.press('Space');

    await expect(page.getByTestId('flash')).toContainText('The Client Secret was reset');
    await expect(page.getByTestId('client-id')).toHaveText(clientId);
    const fresh = await copyWithKeyboard(page, page.getByRole('button', { name: 'Copy Client Secret' }), 'secret-status', 'Space');
    expect(fresh).toMatch(/^tss_/);
    expect(fresh).not.toBe(secret);
    expect((await requestToken(request, clientId, secret)).status).toBe(401);
    expect((await requestToken(request, clientId, fresh)).status).toBe(200);
    secret = fresh;
  });

  await test.step('delete the application through its confirmation', async () => {
    await tabTo(page, page.locator('.page-head').getByRole('link', { name: 'Edit', exact: true }));
    await page.keyboard.press('Enter');
    await tabTo(page, page.getByRole('link', { name: 'Delete application' }));
    await page.keyboard.press('Enter');
    await expect(page.getByRole('heading', { level: 1, name: 'Delete application' })).toBeVisible();
    await tabTo(page, page.getByRole('button', { name: 'Delete application' }));
    await page.keyboard.press('Enter');

    await expect(page).toHaveURL(`${portal()}/applications`);
    await expect(page.getByRole('status')).toContainText(`Application “${renamed}” was deleted`);
    expect((await requestToken(request, clientId, secret)).status).toBe(401);
  });

  await test.step('sign out', async () => {
    // Backwards from the end of the list, which other specs running at the same time may fill.
    await tabTo(page, page.getByRole('button', { name: 'Sign out' }), 'Shift+Tab', 300);
    await page.keyboard.press('Enter');
    await expect(page.getByRole('heading', { level: 1, name: 'You have signed out' })).toBeVisible();
  });
});

test('the keyboard focus is not lost when htmx replaces part of the page (Show Client Secret, a refused Add form)', async ({ page }) => {
  await page.goto('/applications/new');
  await expectProviderLogin(page);
  await tabTo(page, page.getByLabel('E-mail'));
  await page.keyboard.type(ADMIN);
  await tabTo(page, page.getByLabel('Password'));
  await page.keyboard.type(DEMO_PASSWORD);
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { level: 1, name: 'Add Application' })).toBeVisible();

  // Submitting without a name: the form comes back with errors. The focus
  // should be on the error summary or the field to correct, not on the page.
  await tabTo(page, page.getByRole('button', { name: 'Add application' }));
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('form-errors')).toBeVisible();
  // The focus moves once htmx has settled the swap, a moment after the
  // errors appear.
  await expect
    .poll(() => page.evaluate(() => document.activeElement?.closest('#app-form') !== null), {
      message: 'the focus is in the form after the errors',
    })
    .toBe(true);

  await tabTo(page, page.getByLabel('Application name'));
  const name = uniqueName('Focus kept');
  await page.keyboard.type(name);
  await tabTo(page, page.getByRole('button', { name: 'Add application' }));
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();

  // Show Client Secret: the panel is replaced. The focus should stay in it
  // (on Hide or Copy), or at least the next Tab should land in it.
  await tabTo(page, page.getByRole('button', { name: 'Show Client Secret' }));
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('client-secret')).toBeVisible();
  const inPanel = () => page.evaluate(() => document.activeElement?.closest('#secret-panel') !== null);
  if (!(await inPanel())) await page.keyboard.press('Tab');
  expect(await inPanel(), 'after Show, the focus (or the next Tab) is in the Client Secret panel').toBe(true);
});
