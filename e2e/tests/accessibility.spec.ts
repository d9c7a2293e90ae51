import { test, expect, type Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { ADMIN, addApplication, expectProviderLogin, signIn, uniqueName } from './helpers';

/** Runs axe on the page (WCAG 2.1 A/AA) and returns the violations in a readable form. */
async function violations(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return result.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
  );
}

test('the pages of the golden path have no WCAG 2.1 AA violations', async ({ page }) => {
  const found: Record<string, string[]> = {};
  const check = async (label: string) => {
    const v = await violations(page);
    if (v.length) found[label] = v;
  };

  await page.goto('/applications');
  await expectProviderLogin(page);
  await check('provider sign-in');

  await signIn(page, ADMIN);
  await check('applications');

  await page.goto('/applications/new');
  await check('add application');

  // The form re-rendered with errors.
  await page.getByRole('button', { name: 'Add application' }).click();
  await expect(page.getByTestId('form-errors')).toBeVisible();
  await check('add application with errors');

  const clientId = await addApplication(page, uniqueName('A11y check'));
  await check('details (secret viewable)');
  await page.getByRole('button', { name: 'Show Client Secret' }).click();
  await expect(page.getByTestId('client-secret')).toBeVisible();
  await check('details (secret shown)');

  await page.goto(`/applications/${clientId}/edit`);
  await check('edit application');
  await page.goto(`/applications/${clientId}/reset`);
  await check('confirm reset');
  await page.goto(`/applications/${clientId}/delete`);
  await check('confirm delete');
  await page.goto('/applications/doesnotexist0000000000000000');
  await check('not found');

  await page.goto('/applications');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByTestId('signed-out')).toBeVisible();
  await check('signed out');

  expect(found).toEqual({});
});
