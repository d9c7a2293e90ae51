import { test, type Page } from '@playwright/test';

/** The two widths of the visual review: a laptop and a small phone. */
export const WIDTHS = [1440, 375] as const;

/**
 * Saves a full-page screenshot of the page as it is now into the test's output
 * folder (and attaches it to the report), and says whether the whole page
 * scrolls sideways, which at any width is a layout bug.
 */
export async function shoot(page: Page, name: string): Promise<{ file: string; overflow: number; stickingOut: string[] }> {
  // Let fonts and late layout settle; hide the caret so two runs compare.
  await page.evaluate(() => document.fonts.ready);
  const width = page.viewportSize()?.width ?? 0;
  const file = test.info().outputPath(`${String(width)}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true, caret: 'hide', animations: 'disabled' });
  await test.info().attach(`${width}px ${name}`, { path: file, contentType: 'image/png' });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  if (overflow > 0) {
    test.info().annotations.push({ type: 'horizontal scroll', description: `${width}px ${name}: the page is ${overflow}px wider than the window` });
  }
  // Content wider than the card it is in (it runs over the card's edge).
  const stickingOut = await page.evaluate(() =>
    Array.from(document.querySelectorAll('main .card'))
      .filter((c) => c.scrollWidth > c.clientWidth + 1)
      .map((c) => `${(c.querySelector('h1, h2')?.textContent ?? c.className).trim().slice(0, 40)} (+${c.scrollWidth - c.clientWidth}px)`));
  for (const s of stickingOut) {
    test.info().annotations.push({ type: 'content wider than its card', description: `${width}px ${name}: ${s}` });
  }
  return { file, overflow, stickingOut };
}

/** Shoots several states and collects the ones that scroll sideways or spill out of a card. */
export class Shots {
  readonly overflowing: string[] = [];

  constructor(private readonly page: Page) {}

  async take(name: string): Promise<void> {
    const { overflow, stickingOut } = await shoot(this.page, name);
    if (overflow > 0) this.overflowing.push(`${name}: the page scrolls sideways (+${overflow}px)`);
    for (const s of stickingOut) this.overflowing.push(`${name}: content runs out of the card “${s}”`);
  }
}
