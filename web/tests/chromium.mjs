// The Chromium both Playwright drivers (browser.mjs, map_fixes.mjs) launch: Debian's
// (or CHROMIUM=), headless, software-rendered, and quiet on a machine with no network.
//
// PAICHA_COOKIES (`name=value; …`, as the Rust tests sign in) are put in every
// context the drivers open, so that their pages start signed in.

import { chromium } from 'playwright-core';

/** Launches the browser the tests and benchmarks drive. */
export async function launch() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    // The machine has no network: without these Chromium keeps trying Google's hosts.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
  });
  const cookies = (process.env.PAICHA_COOKIES || '').split(';').map((c) => c.trim()).filter(Boolean);
  const base = process.argv[3];
  if (!cookies.length || !base) return browser;
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (options) => {
    const context = await newContext(options);
    await context.addCookies(cookies.map((c) => {
      const at = c.indexOf('=');
      return { name: c.slice(0, at), value: c.slice(at + 1), url: base, sameSite: 'Strict' };
    }));
    return context;
  };
  browser.newPage = async (options) => (await browser.newContext(options)).newPage();
  return browser;
}
