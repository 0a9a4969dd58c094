// Drives Debian's Chromium with playwright-core over the phone visit sheet and the
// progress page (issue 18; tests/browser_visits.rs), at a phone's 360×740 viewport.
// Like browser.mjs it only acts and observes; the Rust test compares what it saw with
// the API's own answers.
//
//   node web/tests/visits.mjs <scenario> <base-url> [json-args]
//
// Prints one JSON object on stdout: the observations plus `errors`, every console
// error, page error and failed request the pages produced.

import { launch } from './chromium.mjs';

const [scenario, base, rawArgs] = process.argv.slice(2);
const args = rawArgs ? JSON.parse(rawArgs) : {};

const browser = await launch();
const context = await browser.newContext({
  viewport: { width: 360, height: 740 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
  // The phone allows its position: the visit carries it (WGS-84).
  geolocation: { longitude: args.lon ?? 124.95, latitude: args.lat ?? 41.75, accuracy: 12 },
  permissions: ['geolocation'],
});
const page = await context.newPage();
const errors = [];
page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
page.on('response', (r) => { if (r.status() >= 400) errors.push(`HTTP ${r.status()}: ${r.url()}`); });

const figures = () => page.$$eval('#done b', (bs) => Object.fromEntries(bs.map((b) => [b.dataset.figure, Number(b.textContent)])));

// The pages load one choice at a time and mark the body when the last one is shown.
const settled = () => page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 30000 });

const out = {};
try {
  if (scenario === 'record-visit') {
    await page.goto(`${base}/visit.html`);
    await settled();
    await page.selectOption('#campaign', args.campaign);
    await settled();
    await page.waitForFunction((plan) => [...document.querySelectorAll('#plan option')].some((o) => o.value === plan), args.plan, { timeout: 30000 });
    await page.waitForSelector('#stops li');
    await page.waitForSelector('#done b');
    out.stops = await page.$$eval('#stops li', (lis) => lis.length);
    out.before = await figures();
    out.scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    const first = page.locator('#stops li').first();
    const button = first.locator('button[data-outcome="visited"]');
    out.buttonHeight = (await button.boundingBox()).height;
    await button.tap();
    await first.locator('details.checklist summary').tap();
    await first.locator(`input[data-kind="checklist"][value="${args.item}"]`).check();
    await first.locator('textarea.note').fill(args.note);
    await first.locator('button.save').tap();
    await first.locator('.saved').filter({ hasText: '已保存' }).waitFor({ timeout: 30000 });
    out.saved = (await first.locator('.saved').textContent()).trim();
    await page.waitForFunction((n) => Number(document.querySelector('#done b[data-figure="已走访"]')?.textContent) === n, out.before['已走访'] + 1, { timeout: 30000 });
    out.after = await figures();
    await page.goto(`${base}/progress.html`);
    await settled();
    await page.selectOption('#campaign', args.campaign);
    await settled();
    await page.waitForFunction((code) => document.querySelector(`#townships tr[data-code="${code}"]`), args.township, { timeout: 30000 });
    out.progress = await page.$eval(`#townships tr[data-code="${args.township}"]`, (tr) => ({
      cells: [...tr.cells].map((c) => c.textContent.trim()),
      class: tr.className,
    }));
    out.status = (await page.textContent('#status')).trim();
    await page.waitForSelector(`#map path[data-code="${args.township}"]`, { timeout: 30000 });
    out.map = await page.$$eval('#map path', (ps) => ps.map((p) => ({ code: p.dataset.code, class: p.getAttribute('class'), title: p.querySelector('title')?.textContent })));
    out.mapLabels = await page.$$eval('#map text', (ts) => ts.map((t) => t.textContent));
    out.chart = await page.$$eval('#chart polyline', (ls) => ls.length);
    out.progressScrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  } else {
    throw new Error(`unknown scenario ${scenario}`);
  }
} catch (e) {
  out.exception = String(e && e.stack ? e.stack : e);
}
out.errors = errors;
await browser.close();
process.stdout.write(JSON.stringify(out));
