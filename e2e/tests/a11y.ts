import { test, type Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { WCAG_TAGS } from './helpers';

/** What axe found on one page or state, split by impact. */
export interface AxeFindings {
  /** serious and critical violations: these fail the test */
  blocking: string[];
  /** minor and moderate violations: reported as annotations */
  minor: string[];
}

/**
 * Runs axe (WCAG 2.0/2.1 A and AA) on the page as it is now. Minor and moderate
 * findings are added to the test's annotations so that they show in the report.
 */
export async function axe(page: Page, label: string): Promise<AxeFindings> {
  const result = await new AxeBuilder({ page }).withTags(WCAG_TAGS).analyze();
  const found: AxeFindings = { blocking: [], minor: [] };
  for (const v of result.violations) {
    const line = `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`;
    if (v.impact === 'serious' || v.impact === 'critical') found.blocking.push(line);
    else found.minor.push(line);
  }
  for (const m of found.minor) test.info().annotations.push({ type: `axe (${label})`, description: m });
  return found;
}

/** Collects the serious and critical findings of several pages for one assertion at the end. */
export class AxeReport {
  readonly blocking: Record<string, string[]> = {};

  constructor(private readonly page: Page) {}

  async check(label: string): Promise<void> {
    const f = await axe(this.page, label);
    if (f.blocking.length) this.blocking[label] = f.blocking;
  }
}
