import { test, expect, type Page } from '@playwright/test';
import { ADMIN, addApplication, csrfToken, portal, signIn, uniqueName } from './helpers';
import { AxeReport } from './a11y';
import { shoot } from './shots';

// The Applications list of issue 18: sortable columns with a natural name
// order, the paging text and Previous, the new application's highlight, the
// same-name warning and the compact scope summary. Each test works on
// applications of its own, found by a unique prefix in the filter, since
// other specs add applications to the same account meanwhile.

// What seedApps registered in the running test, deleted after it: other
// specs of the same run walk the account's list and expect it short.
let seeded: string[] = [];

test.afterEach(async ({ page }) => {
  if (seeded.length === 0) return;
  await page.goto('/applications');
  const token = await csrfToken(page);
  for (const id of seeded) {
    const res = await page.request.post(`${portal()}/applications/${id}/delete`, { form: { _csrf: token, version: '1' }, maxRedirects: 0 });
    expect(res.status(), `delete ${id}`).toBe(303);
  }
  seeded = [];
});

/** Registers applications named `${prefix} App <n>` by posting the Add form; returns their Client IDs by n. */
async function seedApps(page: Page, prefix: string, n: number, scopes: Record<string, string> = { 'scope.forensics:account': 'read' }): Promise<string[]> {
  await page.goto('/applications/new');
  const token = await csrfToken(page);
  const ids: string[] = [];
  for (let i = 1; i <= n; i++) {
    const res = await page.request.post(`${portal()}/applications`, {
      form: { _csrf: token, name: `${prefix} App ${i}`, ...scopes },
      maxRedirects: 0,
    });
    expect(res.status(), `create ${prefix} App ${i}`).toBe(303);
    ids.push(res.headers()['location']?.split('/').pop() ?? '');
  }
  seeded.push(...ids);
  return ids;
}

/** The names of the listed rows, in order. */
async function listedNames(page: Page): Promise<string[]> {
  return page.getByTestId('applications').locator('tbody tr td.name > a').allTextContents();
}

test('sorts by each column, names naturally, and keeps the sort with the filter', async ({ page }) => {
  await signIn(page, ADMIN);
  const prefix = uniqueName('Sort');
  await seedApps(page, prefix, 12);
  await page.goto('/applications?q=' + encodeURIComponent(prefix));
  const names = (ns: number[]) => ns.map((n) => `${prefix} App ${n}`);

  // Natural order: App 2 before App 10.
  await expect.poll(() => listedNames(page)).toEqual(names([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]));
  const nameHeader = page.getByRole('columnheader', { name: /^Name/ });
  await expect(nameHeader).toHaveAttribute('aria-sort', 'ascending');

  // Z to A, by the header; the filter stays.
  await nameHeader.getByRole('link').click();
  await expect(page).toHaveURL(/sort=-name/);
  await expect(page).toHaveURL(/q=Sort/);
  await expect(page.getByRole('columnheader', { name: /^Name/ })).toHaveAttribute('aria-sort', 'descending');
  await expect.poll(() => listedNames(page)).toEqual(names([12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]));

  // Newest first, then oldest first.
  await page.getByRole('columnheader', { name: /^Created/ }).getByRole('link').click();
  await expect(page).toHaveURL(/sort=-created/);
  await expect(page.getByRole('columnheader', { name: /^Created/ })).toHaveAttribute('aria-sort', 'descending');
  await expect(page.getByRole('columnheader', { name: /^Name/ })).not.toHaveAttribute('aria-sort', /./);
  await expect.poll(async () => (await listedNames(page))[0]).toBe(`${prefix} App 12`);
  await page.getByRole('columnheader', { name: /^Created/ }).getByRole('link').click();
  await expect(page).toHaveURL(/sort=created/);
  await expect.poll(async () => (await listedNames(page))[0]).toBe(`${prefix} App 1`);

  // Last use, most recent first, then never used first: none got a token, so by Client ID.
  await page.getByRole('columnheader', { name: /^Last used/ }).getByRole('link').click();
  await expect(page).toHaveURL(/sort=-last_used/);
  await expect(page.getByRole('columnheader', { name: /^Last used/ })).toHaveAttribute('aria-sort', 'descending');
  await page.getByRole('columnheader', { name: /^Last used/ }).getByRole('link').click();
  await expect(page).toHaveURL(/sort=last_used/);
  await expect(page.getByRole('columnheader', { name: /^Last used/ })).toHaveAttribute('aria-sort', 'ascending');
  await expect(page.getByTestId('applications').locator('tbody tr')).toHaveCount(12);

  // The live filter keeps the order it is in.
  await page.goto('/applications?sort=-name');
  await page.getByLabel('Filter applications').fill(prefix + ' App 1');
  await expect.poll(() => listedNames(page)).toEqual(names([12, 11, 10, 1]));
  await expect(page).toHaveURL(/sort=-name/);

  // A sort or cursor the list does not know lists from the start.
  const res = await page.goto('/applications?sort=bogus&after=nonsense&q=' + encodeURIComponent(prefix));
  expect(res?.status()).toBe(200);
  await expect.poll(async () => (await listedNames(page))[0]).toBe(`${prefix} App 1`);
});

test('pagination says where you are and goes back with Previous', async ({ page }) => {
  test.setTimeout(120_000);
  await signIn(page, ADMIN);
  const prefix = uniqueName('Page');
  await seedApps(page, prefix, 62);
  await page.goto('/applications?q=' + encodeURIComponent(prefix));
  await expect(page.getByTestId('range')).toHaveText('1–50 of 62');
  await expect(page.getByTestId('count')).toHaveText('62 matching applications');
  await expect(page.getByRole('link', { name: 'Previous page' })).toHaveCount(0);

  await page.getByRole('link', { name: 'Next page' }).click();
  await expect(page.getByTestId('range')).toHaveText('51–62 of 62');
  await expect.poll(() => listedNames(page)).toEqual(Array.from({ length: 12 }, (_, i) => `${prefix} App ${51 + i}`));
  await expect(page.getByRole('link', { name: 'Next page' })).toHaveCount(0);
  await expect(page.getByRole('link', { name: 'First page' })).toBeVisible();
  await page.getByTestId('range').scrollIntoViewIfNeeded();
  await page.screenshot({ path: test.info().outputPath('1280-pager.png') });
  await page.setViewportSize({ width: 375, height: 800 });
  await page.getByTestId('range').scrollIntoViewIfNeeded();
  await page.screenshot({ path: test.info().outputPath('375-pager.png') });
  await page.setViewportSize({ width: 1280, height: 720 });

  await page.getByRole('link', { name: 'Previous page' }).click();
  await expect(page.getByTestId('range')).toHaveText('1–50 of 62');
  await expect.poll(async () => (await listedNames(page))[0]).toBe(`${prefix} App 1`);

  // Newest first pages the same way.
  await page.getByRole('columnheader', { name: /^Created/ }).getByRole('link').click();
  await page.getByRole('link', { name: 'Next page' }).click();
  await expect(page.getByTestId('range')).toHaveText('51–62 of 62');
  await expect(page).toHaveURL(/sort=-created/);
});

test('a newly added application is highlighted when the admin goes back to the list', async ({ page }) => {
  await signIn(page, ADMIN);
  // A name that sorts first ("0" before letters), so that its row is on the first page.
  const name = uniqueName('0 Highlight');
  const id = await addApplication(page, name);
  await page.getByRole('link', { name: 'Applications', exact: true }).first().click();
  await expect(page).toHaveURL(/\/applications$/);
  const pinned = page.getByTestId('just-added');
  await expect(pinned).toContainText('Just added');
  await expect(pinned.getByRole('link', { name })).toHaveAttribute('href', `/applications/${id}`);
  await expect(page.locator(`tr[data-client-id="${id}"]`)).toHaveClass(/is-new/);
  await expect(page.locator(`tr[data-client-id="${id}"]`)).toContainText('New');
  // Once: the next visit shows the list as usual.
  await page.goto('/applications');
  await expect(page.getByTestId('just-added')).toHaveCount(0);
  await expect(page.locator(`tr[data-client-id="${id}"]`)).not.toHaveClass(/is-new/);
});

test('registering a second application with the same name warns and lets the admin go on', async ({ page }) => {
  await signIn(page, ADMIN);
  const name = uniqueName('Twin');
  await addApplication(page, name);

  await page.goto('/applications/new');
  await page.getByLabel('Application name').fill(name.toUpperCase());
  await page.getByRole('button', { name: 'Add application' }).click();
  const warning = page.getByTestId('same-name-warning');
  await expect(warning).toBeVisible();
  await expect(warning).toContainText(`An application named “${name}” already exists`);
  await expect(page.getByLabel('Application name')).toHaveValue(name.toUpperCase());
  const axe = new AxeReport(page);
  await axe.check('same-name warning');
  expect(axe.blocking).toEqual({});

  await warning.getByRole('button', { name: 'Add another anyway' }).click();
  await expect(page.getByRole('heading', { level: 1, name: name.toUpperCase() })).toBeVisible();
  await page.goto('/applications?q=' + encodeURIComponent(name));
  await expect(page.getByTestId('count')).toHaveText('2 matching applications');

  // Renaming another application to the name warns the same.
  const other = await addApplication(page, uniqueName('Twin other'));
  await page.goto(`/applications/${other}/edit`);
  await page.getByLabel('Application name').fill(name);
  await page.getByRole('button', { name: 'Save application' }).click();
  await expect(page.getByTestId('same-name-warning')).toBeVisible();
  await page.getByRole('button', { name: 'Save anyway' }).click();
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
});

test('the scope summary shows the full list on hover and on focus', async ({ page }) => {
  await signIn(page, ADMIN);
  const prefix = uniqueName('Scopes');
  await seedApps(page, prefix, 1, { 'scope.forensics:account': 'read', 'scope.ess:account': 'read', 'scope.reporting:reports': 'read' });
  await seedApps(page, prefix + ' one', 1);
  await page.goto('/applications?q=' + encodeURIComponent(prefix));
  const row = page.getByRole('row', { name: new RegExp(`^${prefix} App 1 `) });
  const summary = row.getByRole('button', { name: '3 scopes' });
  const list = row.getByRole('tooltip');
  await page.mouse.move(0, 0);
  await expect(list).toBeHidden();
  await summary.hover();
  await expect(list).toBeVisible();
  await page.screenshot({ path: test.info().outputPath('1280-scope-summary.png') });
  await expect(list).toContainText('Incident Response · Read');
  await expect(list).toContainText('Reporting · Read');
  await page.mouse.move(0, 0);
  await expect(list).toBeHidden();
  await summary.focus();
  await expect(list).toBeVisible();
  await expect(summary).toHaveAccessibleDescription(/Email Gateway Defense · Read/);
  // One scope is named as it is.
  await expect(page.getByRole('row', { name: new RegExp(`^${prefix} one App 1 `) })).toContainText('Incident Response · Read');

  const axe = new AxeReport(page);
  await axe.check('list with scope summary open');
  expect(axe.blocking).toEqual({});
});

test('the list at 1440×900 and 375 px', async ({ page }) => {
  test.setTimeout(120_000);
  await signIn(page, ADMIN);
  const prefix = uniqueName('Shot');
  await seedApps(page, prefix, 14, { 'scope.forensics:account': 'read-write', 'scope.ess:account': 'read' });
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto('/applications?sort=-created');
  // More than six rows on the first screen.
  const rows = page.getByTestId('applications').locator('tbody tr');
  const visible = await rows.evaluateAll((trs) => trs.filter((tr) => tr.getBoundingClientRect().bottom <= window.innerHeight).length);
  expect(visible).toBeGreaterThan(6);
  const axe = new AxeReport(page);
  await axe.check('list 1440');
  const first = await shoot(page, 'list-1440');
  expect(first.overflow).toBe(0);
  await page.screenshot({ path: test.info().outputPath('1440-list-first-screen.png') });

  await page.setViewportSize({ width: 375, height: 800 });
  await page.goto('/applications?sort=-created&q=' + encodeURIComponent(prefix));
  await expect(page.getByTestId('list-sort')).toBeVisible();
  await page.getByTestId('list-sort').selectOption('name');
  await expect(page).toHaveURL(/sort=name/);
  await axe.check('list 375');
  await page.screenshot({ path: test.info().outputPath('375-list-first-screen.png') });
  await page.getByTestId('count').scrollIntoViewIfNeeded();
  await page.screenshot({ path: test.info().outputPath('375-list-pager.png') });
  const small = await shoot(page, 'list-375');
  expect(small.overflow).toBe(0);
  expect(axe.blocking).toEqual({});
});
