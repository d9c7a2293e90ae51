import { test, expect, type Browser, type Page } from '@playwright/test';
import {
  ADMIN, OTHER_ADMIN, VIEWER, portal, addApplication, expectProviderLogin, postWithSession, scopeAccess, signIn, signOut, uniqueName,
} from './helpers';
import { Shots, WIDTHS } from './shots';

// Visual review: a full-page screenshot of every page and state, at a laptop's
// and a small phone's width, saved into the test output (and attached to the
// report) for a person to look at. The page after the reveal window is shot in
// window.spec.ts. The spec fails if a page scrolls sideways or content runs
// over the edge of its card, which are bugs at any width; the screenshots are
// all taken first either way.

test.describe.configure({ mode: 'parallel' });

/** A page in a browser context of its own, `width` pixels wide. */
async function pageAt(browser: Browser, width: number): Promise<Page> {
  const context = await browser.newContext({ baseURL: portal(), viewport: { width, height: 800 } });
  return context.newPage();
}

/** A name of exactly 100 characters without a single space. */
function longName(): string {
  const suffix = `-${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
  const base = 'AcmeDataWarehouseNightlyExportToTheSecurityInformationAndEventManagementPlatformForComplianceAuditsAndReporting';
  return base.slice(0, 100 - suffix.length) + suffix;
}

/** Realistic names for the rest of a full list. */
const NAMES = [
  'SIEM export', 'Billing sync', 'Incident triage bot', 'Quarterly compliance report', 'Mailbox audit',
  'Phishing simulation', 'Archive search', 'Helpdesk integration', 'Threat intel feed', 'CI pipeline', 'Backup verifier',
];

for (const width of WIDTHS) {
  test(`every page and state at ${width} px`, async ({ browser }) => {
    test.setTimeout(90_000);
    const anonymous = await pageAt(browser, width);
    const admin = await pageAt(browser, width);
    const otherAdmin = await pageAt(browser, width);
    const viewer = await pageAt(browser, width);
    const overflowing: string[] = [];
    const shoot = async (page: Page, name: string) => {
      const shots = new Shots(page);
      await shots.take(name);
      overflowing.push(...shots.overflowing);
    };

    // The provider's sign-in page, as anybody without a session sees it.
    await anonymous.goto('/applications');
    await expectProviderLogin(anonymous);
    await shoot(anonymous, '01-provider-sign-in');

    // An account without applications: the empty state.
    await signIn(otherAdmin, OTHER_ADMIN);
    await expect(otherAdmin.getByTestId('empty-state')).toBeVisible();
    await shoot(otherAdmin, '02-list-empty');

    // A full list: a dozen applications, one with a 100-character name without spaces.
    await signIn(admin, ADMIN);
    const tag = uniqueName('').trim();
    for (const [i, n] of NAMES.entries()) {
      const scopes: Record<string, string> = { 'scope.forensics:account': i % 2 ? 'read-write' : 'read' };
      if (i % 3 === 0) Object.assign(scopes, { 'scope.ess:account': 'read', 'scope.reporting:reports': 'read', 'scope.impersonation:account': 'read-write' });
      const res = await postWithSession(admin, '/applications', { name: `${n} ${tag}`, ...scopes });
      expect(res.status, n).toBe(303);
    }
    const long = longName();
    expect(long).toHaveLength(100);
    const clientId = await addApplication(admin, long, {
      'Incident Response': 'Read & Write', 'Email Gateway Defense': 'Read', Reporting: 'Read', 'Cloud Archiving': 'Read & Write',
    });
    await shoot(admin, '05-details-secret-hidden');
    await admin.getByRole('button', { name: 'Show Client Secret' }).click();
    await expect(admin.getByTestId('client-secret')).toBeVisible();
    await shoot(admin, '06-details-secret-shown');

    await admin.goto('/applications');
    await expect(admin.getByTestId('applications').getByRole('link', { name: long, exact: true })).toBeVisible();
    await shoot(admin, '03-list-full');
    await admin.getByRole('searchbox', { name: 'Filter applications' }).fill(`no such application ${tag}`);
    await expect(admin.getByText('No matching applications')).toBeVisible();
    await shoot(admin, '03b-list-filter-matches-nothing');

    await admin.goto('/applications/new');
    await admin.getByLabel('Application name').fill('');
    await scopeAccess(admin, 'Incident Response').getByRole('radio', { name: 'Read & Write', exact: true }).check();
    await admin.getByRole('button', { name: 'Add application' }).click();
    await expect(admin.getByTestId('form-errors')).toBeVisible();
    await shoot(admin, '04-add-with-errors');

    await admin.goto(`/applications/${clientId}/edit`);
    await expect(admin.getByRole('heading', { level: 1, name: 'Edit Application' })).toBeVisible();
    await shoot(admin, '07-edit');
    await admin.goto(`/applications/${clientId}/reset`);
    await expect(admin.getByTestId('confirm')).toBeVisible();
    await shoot(admin, '08-confirm-reset');
    await admin.goto(`/applications/${clientId}/delete`);
    await expect(admin.getByTestId('confirm')).toBeVisible();
    await shoot(admin, '09-confirm-delete');
    await admin.goto('/activity');
    await expect(admin.getByTestId('activity')).toBeVisible();
    await shoot(admin, '09b-activity');
    await admin.goto(`/applications/${clientId}/activity`);
    await expect(admin.getByTestId('activity')).toBeVisible();
    await shoot(admin, '09c-activity-of-one-application');
    const missing = await admin.goto('/applications/doesnotexist0000000000000000');
    expect(missing?.status()).toBe(404);
    await shoot(admin, '10-not-found-404');

    // The read-only member: the list, the details without a secret, and a 403.
    await signIn(viewer, VIEWER);
    await expect(viewer.getByTestId('applications').getByRole('link', { name: long, exact: true })).toBeVisible();
    await shoot(viewer, '11a-read-only-list');
    await viewer.goto(`/applications/${clientId}`);
    await expect(viewer.getByTestId('secret-panel')).toContainText('Only admins');
    await shoot(viewer, '11b-read-only-details');
    const forbidden = await viewer.goto(`/applications/${clientId}/edit`);
    expect(forbidden?.status()).toBe(403);
    await shoot(viewer, '12-read-only-forbidden-403');

    await admin.goto('/applications');
    await signOut(admin);
    await expect(admin.getByTestId('signed-out')).toBeVisible();
    await shoot(admin, '13-signed-out');

    for (const p of [anonymous, admin, otherAdmin, viewer]) await p.context().close();
    expect(overflowing, 'pages that scroll sideways or whose content runs out of its card').toEqual([]);
  });
}
