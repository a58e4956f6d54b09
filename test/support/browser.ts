// Debian's chromium driven by playwright-core: no browser is downloaded. A missing chromium is a
// loud failure naming the package (tests never skip), and as root (a CI container) chromium needs
// --no-sandbox. Screenshots go to test-results/ (or $CANOPY_ARTIFACTS) as test artifacts.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CANOPY_CHROMIUM ?? '/usr/bin/chromium';
export const ARTIFACTS = process.env.CANOPY_ARTIFACTS ?? join(import.meta.dirname, '../../test-results/console');

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: the browser tests need Debian's chromium package (apt-get install chromium; .ci/run installs it)`);
  }
  const root = process.getuid?.() === 0;
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: root ? ['--no-sandbox'] : [] });
}

/** Saves a full-page screenshot as a test artifact; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
