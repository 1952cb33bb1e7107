/**
 * Debian's chromium for browser tests, driven by playwright-core (which downloads no
 * browser of its own). scripts/setup-ci.sh installs it; a test without it fails at
 * once, naming that script. Launched headless with every background service that
 * would reach the network turned off. Playwright gives every launch a fresh temporary
 * profile (its own --user-data-dir, removed on close; it refuses one passed in `args`).
 */
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { requireExecutable } from '../harness/index.js';

export const chromiumPath = '/usr/bin/chromium';

export interface LaunchedBrowser {
  readonly browser: Browser;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<LaunchedBrowser> {
  const browser = await chromium.launch({
    executablePath: requireExecutable(chromiumPath, 'chromium'),
    headless: true,
    timeout: 60_000,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    browser,
    close: () => browser.close().catch(() => undefined),
  };
}
