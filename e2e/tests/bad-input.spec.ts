import { test, expect, type Page } from '@playwright/test';
import { ADMIN, addApplication, postWithSession, scopeAccess, signIn, uniqueName } from './helpers';

// Item 8: bad input of any shape in every form (Add Application, Edit
// Application, the list's filter box) gets a clear message, is shown as text
// and never run, and changes nothing.

/** Fails the test if the page ever opens a dialog (alert, confirm, prompt). */
function forbidDialogs(page: Page): string[] {
  const opened: string[] = [];
  page.on('dialog', (d) => {
    // Leaving a refused form, whose input is unsaved, asks first: the test leaves.
    if (d.type() === 'beforeunload') { void d.accept(); return; }
    opened.push(`${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  return opened;
}

/** Nothing the user typed became markup: no injected script or image anywhere in the content. */
async function expectInert(page: Page): Promise<void> {
  await expect(page.locator('main script')).toHaveCount(0);
  await expect(page.locator('img[src="x"]')).toHaveCount(0);
}

/**
 * Puts a value into the name field the way a paste or an older browser can:
 * past the field's maxlength, with characters a keyboard does not type.
 */
async function setName(page: Page, value: string): Promise<void> {
  const field = page.getByLabel('Application name');
  await field.fill('');
  await field.evaluate((el, v) => { (el as HTMLInputElement).value = v; }, value);
  await expect(field).toHaveValue(value);
}

const CONTROL_MESSAGE = 'The name cannot contain control characters such as tabs or line breaks.';
const invisibleMessage = (character: string) =>
  `The name contains an invisible character (${character}), which can make it look like another name. Type the name again without it.`;

/** Invalid names, each with the message the form must give. `m` is a marker to find the name by. */
function invalidNames(m: string): Array<{ label: string; value: string; message: string }> {
  return [
    { label: 'empty', value: '', message: 'Enter an application name.' },
    { label: 'only spaces', value: '    ', message: 'Enter an application name.' },
    { label: '10,000 characters', value: m + 'x'.repeat(10_000 - m.length), message: 'The name can be at most 100 characters long.' },
    { label: 'NUL', value: `${m} \u0000 nul`, message: CONTROL_MESSAGE },
    { label: 'BEL', value: `${m} \u0007 bell`, message: CONTROL_MESSAGE },
    { label: 'right-to-left override', value: `${m} \u202e evil`, message: invisibleMessage('U+202E RIGHT-TO-LEFT OVERRIDE') },
    { label: 'zero width space', value: `${m}\u200b look-alike`, message: invisibleMessage('U+200B ZERO WIDTH SPACE') },
    { label: 'tab', value: `${m}\tafter a tab`, message: CONTROL_MESSAGE },
  ];
}

/** The form came back with the message at the name field and the summary above. */
async function expectNameError(page: Page, message: string, label: string): Promise<void> {
  await expect(page.getByTestId('form-errors'), label).toContainText('The application was not saved');
  const field = page.getByLabel('Application name');
  await expect(field, label).toHaveAttribute('aria-invalid', 'true');
  await expect(field, label).toHaveAccessibleDescription(new RegExp(message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  await expect(page.locator('#name-error'), label).toHaveText(message);
}

test('Add Application: bad names get a clear message, keep the input and register nothing', async ({ page }) => {
  const dialogs = forbidDialogs(page);
  await signIn(page, ADMIN);
  const marker = uniqueName('badadd').replace(/\s+/g, '-');

  for (const { label, value, message } of invalidNames(marker)) {
    await page.goto('/applications/new');
    await setName(page, value);
    await scopeAccess(page, 'Incident Response').getByRole('radio', { name: 'Read & Write', exact: true }).check();
    await page.getByRole('button', { name: 'Add application' }).click();

    await expectNameError(page, message, label);
    await expect(page, label).toHaveURL(/\/applications\/new$/);
    // What the user chose is still there. (The name is kept too, except the
    // characters HTML itself cannot carry: NUL and line breaks.)
    await expect(scopeAccess(page, 'Incident Response').getByRole('radio', { name: 'Read & Write', exact: true }), label).toBeChecked();
    if (label === '10,000 characters' || label === 'BEL' || label === 'right-to-left override' || label === 'zero width space') {
      await expect(page.getByLabel('Application name'), label).toHaveValue(value);
    }
  }

  // Names that look like markup are fine names: stored and shown as text, never run.
  for (const markup of ['<script>alert(1)</script>', '<img src=x onerror=alert(1)>']) {
    const name = `${markup} ${marker}`;
    const clientId = await addApplication(page, name);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(name);
    await expect(page.locator('.breadcrumb')).toContainText(name);
    await expectInert(page);
    await page.goto(`/applications?q=${encodeURIComponent(clientId)}`);
    await expect(page.getByTestId('applications').getByRole('link', { name, exact: true })).toBeVisible();
    await expectInert(page);
  }

  // Nothing with an invalid name was registered: only the two markup names carry the marker.
  await page.goto(`/applications?q=${encodeURIComponent(marker)}`);
  await expect(page.getByTestId('count')).toHaveText('2 matching applications');
  expect(dialogs).toEqual([]);
});

test('Edit Application: bad names and forged scopes get a clear message, keep the input and change nothing', async ({ page }) => {
  const dialogs = forbidDialogs(page);
  await signIn(page, ADMIN);
  const name = uniqueName('Bad edit');
  const marker = uniqueName('badedit').replace(/\s+/g, '-');
  const clientId = await addApplication(page, name, { 'Incident Response': 'Read' });

  for (const { label, value, message } of invalidNames(marker)) {
    await page.goto(`/applications/${clientId}/edit`);
    await setName(page, value);
    await scopeAccess(page, 'Reporting').getByRole('radio', { name: 'Read', exact: true }).check();
    await page.getByRole('button', { name: 'Save application' }).click();

    await expectNameError(page, message, label);
    await expect(page, label).toHaveURL(new RegExp(`/applications/${clientId}/edit$`));
    await expect(page.getByRole('heading', { level: 1, name: 'Edit Application' }), label).toBeVisible();
    await expect(scopeAccess(page, 'Reporting').getByRole('radio', { name: 'Read', exact: true }), label).toBeChecked();
    if (label === '10,000 characters' || label === 'BEL' || label === 'right-to-left override' || label === 'zero width space') {
      await expect(page.getByLabel('Application name'), label).toHaveValue(value);
    }
  }

  // A forged form with an access level or a scope the catalogue does not offer.
  await page.goto(`/applications/${clientId}/edit`);
  const version = await page.locator('input[name="version"]').inputValue();
  const forgedScopes: Array<Record<string, string>> = [
    { 'scope.forensics:account': 'admin' },
    { 'scope.forensics:account': '<script>alert(1)</script>' },
    { 'scope.evil:everything': 'read-write' },
  ];
  for (const form of forgedScopes) {
    const res = await postWithSession(page, `/applications/${clientId}`, { version, name: `${name} forged`, ...form });
    expect(res.status, JSON.stringify(form)).toBe(422);
    expect(res.body, JSON.stringify(form)).toContain('The application was not saved');
    expect(res.body, JSON.stringify(form)).not.toContain('<script>alert(1)</script>');
  }

  // The application is exactly as it was.
  await page.goto(`/applications/${clientId}`);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(name);
  const scopes = page.getByTestId('scopes');
  await expect(scopes).toContainText('forensics:account:read');
  await expect(scopes).not.toContainText('forensics:account:write');
  await expect(scopes).not.toContainText('Reporting');
  await expect(scopes).not.toContainText('evil');
  await page.goto(`/applications?q=${encodeURIComponent(marker)}`);
  await expect(page.getByText('No matching applications')).toBeVisible();

  // A name that looks like markup is saved and shown as text.
  const markup = `<script>alert(1)</script><img src=x onerror=alert(1)> ${marker}`;
  await page.goto(`/applications/${clientId}/edit`);
  await page.getByLabel('Application name').fill(markup);
  await page.getByRole('button', { name: 'Save application' }).click();
  await expect(page.getByTestId('flash')).toHaveText('Changes saved.');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(markup);
  await expectInert(page);
  await page.goto(`/applications/${clientId}/edit`);
  await expect(page.getByLabel('Application name')).toHaveValue(markup);
  await expect(page.locator('.breadcrumb')).toContainText(markup);
  await expectInert(page);
  await page.goto(`/applications/${clientId}/reset`);
  await expect(page.getByTestId('confirm')).toContainText(`Reset the Client Secret of “${markup}”?`);
  await expectInert(page);
  expect(dialogs).toEqual([]);
});

test('the filter box: bad input shows a clear message, renders as text and changes nothing', async ({ page }) => {
  const dialogs = forbidDialogs(page);
  await signIn(page, ADMIN);
  const tag = uniqueName('badfilter').replace(/\s+/g, '-');
  const plainName = `${tag} plain`;
  const markupName = `<img src=x onerror=alert(1)> ${tag}`;
  const plain = await addApplication(page, plainName);
  const markup = await addApplication(page, markupName);

  await page.goto('/applications');
  const filter = page.getByRole('searchbox', { name: 'Filter applications' });
  const table = page.locator('#app-table');
  const bothListed = async (label: string) => {
    await filter.fill(tag);
    await expect(page.getByTestId('count'), label).toHaveText('2 matching applications');
    await expect(table.getByText(plain), label).toBeVisible();
    await expect(table.getByText(markup), label).toBeVisible();
  };
  await bothListed('before');

  // Empty: the whole list again, no error.
  await filter.fill('');
  await expect(page.getByTestId('count')).toHaveText(/^\d+\+? applications?$/);
  await expect(page.getByText('No matching applications')).toHaveCount(0);

  // Markup that matches an application: found, and shown as text.
  await filter.fill(markupName);
  await expect(page.getByTestId('count')).toHaveText('1 matching application');
  await expect(table.getByRole('link', { name: markupName, exact: true })).toBeVisible();
  await expectInert(page);

  // Values that match nothing: a clear message that repeats them as text.
  const nothing: Array<[string, string]> = [
    ['script', `<script>alert(1)</script>${tag}`],
    ['img', `<img src=x onerror=alert(1)>${tag}`],
    ['BEL', `${tag}\u0007`],
    ['right-to-left override', `${tag}\u202e`],
  ];
  for (const [label, value] of nothing) {
    await filter.fill(value);
    await expect(page.getByText('No matching applications'), label).toBeVisible();
    await expect(table, label).toContainText(`No application name or Client ID contains “${value}”`);
    await expect(page.getByTestId('applications'), label).toHaveCount(0);
    await expectInert(page);
    await bothListed(label);
  }

  // 10,000 characters: the box takes at most 200; the server never fails on more.
  const long = tag + 'y'.repeat(10_000 - tag.length);
  await filter.fill(long);
  expect((await filter.inputValue()).length).toBeLessThanOrEqual(200);
  await expect(page.getByText('No matching applications')).toBeVisible();
  await bothListed('10,000 characters');
  const direct = await page.goto(`/applications?q=${encodeURIComponent(long)}`);
  expect(direct?.status()).toBe(200);
  await expect(page.getByText('No matching applications')).toBeVisible();

  // Nothing changed: both applications are still there, as they were.
  await page.goto('/applications');
  await bothListed('after');
  await expect(table.getByRole('link', { name: plainName, exact: true })).toBeVisible();
  await expect(table.getByRole('link', { name: markupName, exact: true })).toBeVisible();
  expect(dialogs).toEqual([]);
});

test('the filter box: a NUL character matches nothing (it must not cut the filter short)', async ({ page }) => {
  const dialogs = forbidDialogs(page);
  await signIn(page, ADMIN);
  const tag = uniqueName('nulfilter').replace(/\s+/g, '-');
  // One name ends with the tag, the other does not: a filter cut short at the
  // NUL ("…tag" instead of "…tag\0") would match the first.
  const endsWithTag = await addApplication(page, `Ends with ${tag}`);
  const tagInside = await addApplication(page, `${tag} inside`);

  await page.goto('/applications');
  const filter = page.getByRole('searchbox', { name: 'Filter applications' });
  const table = page.locator('#app-table');
  await filter.fill(tag);
  await expect(page.getByTestId('count')).toHaveText('2 matching applications');

  await filter.fill(`${tag}\u0000`);
  await expect(page.getByText('No matching applications')).toBeVisible();
  await expect(table.getByText(endsWithTag)).toHaveCount(0);
  await expect(table.getByText(tagInside)).toHaveCount(0);

  const direct = await page.goto(`/applications?q=${encodeURIComponent(`${tag}\u0000`)}`);
  expect(direct?.status()).toBe(200);
  await expect(page.getByText('No matching applications')).toBeVisible();
  await expect(table.getByText(endsWithTag)).toHaveCount(0);
  expect(dialogs).toEqual([]);
});
