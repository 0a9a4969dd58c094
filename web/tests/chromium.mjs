// The Chromium both Playwright drivers (browser.mjs, map_fixes.mjs) launch: Debian's
// (or CHROMIUM=), headless, software-rendered, and quiet on a machine with no network.

import { chromium } from 'playwright-core';

/** Launches the browser the tests and benchmarks drive. */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    // The machine has no network: without these Chromium keeps trying Google's hosts.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
  });
}
