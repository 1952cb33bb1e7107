/**
 * Reading the dashboard page in the browser tests: its console errors, a test id's text,
 * the leader it shows.
 */
import type { Page } from 'playwright-core';

export const uiWaitMs = 30_000;

/** Console errors and uncaught exceptions of a page, with the page's URL at the time. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
  return errors;
}

export async function textOf(page: Page, testId: string): Promise<string> {
  return (await page.getByTestId(testId).textContent({ timeout: uiWaitMs })) ?? '';
}

export async function shownLeader(page: Page): Promise<number | undefined> {
  const match = /^node (\d+)$/.exec((await textOf(page, 'leader')).trim());
  return match ? Number(match[1]) : undefined;
}
