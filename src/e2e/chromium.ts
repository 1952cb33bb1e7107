/**
 * Debian's chromium for browser tests, driven by playwright-core (which downloads no
 * browser of its own). Installed with apt-get when missing, once per test process,
 * bounded in time. Launched headless with every background service that would reach
 * the network turned off. Playwright gives every launch a fresh temporary profile
 * (its own --user-data-dir, removed on close; it refuses one passed in `args`).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';

export const chromiumPath = '/usr/bin/chromium';
const installTimeoutMs = 600_000;
let installing: Promise<void> | undefined;

/** Makes sure /usr/bin/chromium exists, installing Debian's package if needed. */
export function ensureChromium(): Promise<void> {
  installing ??= (async () => {
    if (existsSync(chromiumPath)) return;
    await run('apt-get', ['update']);
    await run('apt-get', ['install', '-y', '--no-install-recommends', 'chromium']);
    if (!existsSync(chromiumPath)) throw new Error(`apt-get installed chromium, but ${chromiumPath} does not exist`);
  })();
  return installing;
}

export interface LaunchedBrowser {
  readonly browser: Browser;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<LaunchedBrowser> {
  await ensureChromium();
  const browser = await chromium.launch({
    executablePath: chromiumPath,
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

function run(command: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: installTimeoutMs, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }, (error, _stdout, stderr) => {
      if (error) reject(new Error(`cannot install chromium: ${command} ${args.join(' ')} failed: ${error.message}\n${stderr.slice(-2000)}`));
      else resolve();
    });
  });
}
