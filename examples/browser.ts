/**
 * Headless Chromium for looking at the dashboard from a script (examples/dashboard-screenshot.ts) or a test
 * (test/ui/dashboard.test.ts): Debian's binary (or CHROMIUM_PATH) driven by playwright-core, in a throwaway profile
 * that close() removes. Playwright cannot download its own browser here, so it is told which one to run.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

/** Nothing the page does not need: no sandbox (containers), no GPU, no background traffic to Google. */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface HeadlessBrowser {
  readonly context: BrowserContext;
  /** Closes the browser and removes its profile directory. */
  close(): Promise<void>;
}

export async function openHeadlessChromium(
  options: { viewport?: { width: number; height: number }; deviceScaleFactor?: number; colorScheme?: 'light' } = {},
): Promise<HeadlessBrowser> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium`);
  const profile = mkdtempSync(join(tmpdir(), 'clusterkit-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      ...options,
    });
    return {
      context,
      close: async () => {
        try {
          await context.close();
        } finally {
          rmSync(profile, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
}
