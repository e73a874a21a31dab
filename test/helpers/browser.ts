import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { Cleanup } from './cleanup.js';

/**
 * Chromium from the system's packages (Debian: `apt-get install -y chromium`), driven by playwright-core:
 * Playwright's own browser downloads cannot work here, and none is needed. CHROMIUM_PATH names another.
 */
const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];
export const chromiumPath = (): string | null => (process.env.CHROMIUM_PATH ? (existsSync(process.env.CHROMIUM_PATH) ? process.env.CHROMIUM_PATH : null) : (CANDIDATES.find((p) => existsSync(p)) ?? null));

export const NO_BROWSER = 'the console browser tests need Chromium: install it (Debian: apt-get install -y chromium; .ci/run does) or set CHROMIUM_PATH, then run npm test again';

export async function launchBrowser(cleanup: Cleanup): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error(NO_BROWSER);
  // As root (CI), Chromium's sandbox cannot start; playwright passes --no-sandbox unless asked for one.
  const browser = await chromium.launch({ executablePath, headless: true });
  cleanup.add('Chromium', () => browser.close());
  return browser;
}

/**
 * Where screenshots go: docs/console for `npm run screenshots` (SCREENSHOTS_DIR), else a temporary directory
 * that the run leaves for a person to look at after a failure.
 */
export function screenshotDir(): string {
  const dir = process.env.SCREENSHOTS_DIR ? resolve(process.env.SCREENSHOTS_DIR) : mkdtempSync(join(tmpdir(), 'ticketflow-console-'));
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Everything the page says to its console that is an error (a CSP violation, an uncaught exception), for asserting none. */
export function pageErrors(page: Page, expected: RegExp[] = []): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  page.on('console', (m) => {
    // Failed API calls are answers the page shows (a 404 for an unknown id, a 409 for a refused action), not errors of the page.
    if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of \d+/.test(m.text()) && !expected.some((re) => re.test(m.text()))) errors.push(m.text());
  });
  return errors;
}
