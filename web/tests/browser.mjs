// Drives Debian's Chromium with playwright-core for the browser tests in
// tests/browser.rs, and for bench/web.sh. It only acts and observes; the Rust tests
// compare what it saw with the API's own answers.
//
//   node web/tests/browser.mjs <scenario> <base-url> [json-args]
//
// Prints one JSON object on stdout: the scenario's observations plus `errors`, every
// console error, page error and failed request the page produced.

import { chromium } from 'playwright-core';

const [scenario, base, rawArgs] = process.argv.slice(2);
const args = rawArgs ? JSON.parse(rawArgs) : {};

const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const browser = await chromium.launch({
  executablePath,
  headless: true,
  // The machine has no network: without these Chromium keeps trying Google's hosts.
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
});
const page = await browser.newPage({ viewport: { width: args.width || 1400, height: args.height || 860 }, deviceScaleFactor: 1 });
const errors = [];
page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
page.on('requestfailed', (r) => {
  // MapLibre cancels the tiles of a view it has left: an abort it asked for is no failure.
  const text = r.failure()?.errorText;
  if (text === 'net::ERR_ABORTED' && r.url().includes('/tiles/')) return;
  errors.push(`request failed: ${r.url()} ${text}`);
});
page.on('response', (r) => { if (r.status() >= 400) errors.push(`HTTP ${r.status()}: ${r.url()}`); });

async function open(hash = '') {
  const t0 = Date.now();
  await page.goto(`${base}/${hash}`);
  await page.waitForFunction(() => window.paicha && (window.paicha.ready || window.paicha.failed), null, { timeout: 30000 });
  const failed = await page.evaluate(() => window.paicha.failed);
  if (failed) throw new Error(`the page failed to start: ${failed}`);
  return Date.now() - t0;
}

const idle = () => page.evaluate(() => new Promise((resolve) => {
  const { map } = window.paicha.app;
  if (map.loaded() && !map.isMoving()) resolve(); else map.once('idle', resolve);
}));

/** Screen position of a lon/lat on the map canvas, in page pixels. */
async function screen(lon, lat) {
  return page.evaluate(([x, y]) => {
    const { map } = window.paicha.app;
    const p = map.project([x, y]);
    const r = map.getCanvas().getBoundingClientRect();
    return { x: r.left + p.x, y: r.top + p.y };
  }, [lon, lat]);
}

async function legend() {
  return page.$$eval('#legend tr', (rows) => rows.map((r) => ({
    class: r.dataset.class,
    label: r.cells[1].textContent,
    count: r.cells[2].textContent,
    color: r.querySelector('.sw').style.background,
  })));
}

/** Saves a screenshot of the page for the Rust test to read pixels from. */
async function shoot(path) {
  await page.mouse.move(1, 1);
  await page.screenshot({ path });
  return path;
}

const text = (sel) => page.$eval(sel, (e) => e.textContent.trim());

const out = {};
try {
  if (scenario === 'first-view') {
    out.loadMs = await open(args.hash || '');
    out.readyMs = await page.evaluate(() => window.paicha.readyMs);
    out.interactiveMs = await page.evaluate(() => window.paicha.sinceNavigationMs);
    out.title = await page.title();
    out.indicator = await page.$eval('#indicator', (e) => e.value);
    out.legend = await legend();
    out.areaName = await text('#area-name');
    out.rankingRows = await page.$$eval('#ranking-table tbody tr', (rows) => rows.length);
    if (args.screenshot) await page.screenshot({ path: args.screenshot });
  } else if (scenario === 'switch') {
    await open(args.hash || '');
    await idle();
    const p = await screen(args.lon, args.lat);
    out.point = p;
    out.before = { legend: await legend(), shot: await shoot(`${args.dir}/before.png`), indicator: await page.$eval('#indicator', (e) => e.value) };
    await page.selectOption('#indicator', args.indicator);
    await page.waitForFunction((id) => document.querySelector('#area .figure')?.dataset.indicator === id, args.indicator);
    await idle();
    out.after = { legend: await legend(), shot: await shoot(`${args.dir}/after.png`), indicator: await page.$eval('#indicator', (e) => e.value) };
    out.hash = await page.evaluate(() => location.hash);
  } else if (scenario === 'click') {
    await open(args.hash || '');
    await idle();
    const p = await screen(args.lon, args.lat);
    await page.mouse.click(p.x, p.y);
    await page.waitForFunction((code) => location.hash.includes(`area=${code}`) && document.querySelector('#households-table'), args.code);
    await page.waitForFunction((name) => document.querySelector('#area-name')?.textContent === name, args.name);
    out.name = await text('#area-name');
    out.count = await text('#area-count');
    out.rate = await text('#area-rate');
    out.denominator = await text('#area-denominator');
    out.households = await page.$$eval('#households-table tbody tr', (rows) => rows.map((r) => r.dataset.household));
    out.hash = await page.evaluate(() => location.hash);
  } else if (scenario === 'draw') {
    await open(args.hash || '');
    await idle();
    await page.click(`#draw [data-tool="${args.tool || 'rectangle'}"]`);
    const a = await screen(args.from[0], args.from[1]);
    const b = await screen(args.to[0], args.to[1]);
    await page.mouse.move(a.x, a.y);
    await page.mouse.down();
    await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 4 });
    await page.mouse.move(b.x, b.y, { steps: 4 });
    await page.mouse.up();
    await page.waitForFunction(() => window.paicha.lastQuery, null, { timeout: 10000 });
    out.body = await page.evaluate(() => window.paicha.lastQuery.body);
    out.households = await text('#drawn-households');
    out.count = await text('#drawn-count');
    out.villages = await page.$$eval('#drawn-villages tbody tr', (rows) => rows.map((r) => r.dataset.code));
  } else if (scenario === 'url') {
    await open(args.hash);
    await idle();
    out.indicator = await page.$eval('#indicator', (e) => e.value);
    out.heatChecked = await page.$eval('#layer-heat', (e) => e.checked);
    out.heatVisible = await page.evaluate(() => !!window.paicha.app.map.getLayer('heat'));
    out.level = await page.$eval('#level', (e) => e.value);
    out.areaName = await text('#area-name');
    out.zoom = await page.evaluate(() => window.paicha.app.map.getZoom());
    out.center = await page.evaluate(() => window.paicha.app.map.getCenter().toArray());
    out.crumbs = await text('#crumbs');
  } else if (scenario === 'quality') {
    await open('#view=quality');
    await page.waitForSelector('#quality-villages');
    await page.selectOption('#flag', args.flag);
    await page.waitForFunction((label) => document.querySelector('#ranking h3')?.textContent.includes(label), args.label);
    out.legend = await legend();
    out.top = await page.$$eval('#quality-villages tbody tr', (rows) => rows.slice(0, 5).map((r) => ({
      code: r.dataset.code, count: r.cells[2].textContent,
    })));
  } else if (scenario === 'basemap') {
    await open(args.hash);
    await idle();
    out.options = await page.$$eval('#basemap option', (os) => os.map((o) => o.value));
    out.selected = await page.$eval('#basemap', (e) => e.value);
    out.point = await screen(args.lon, args.lat);
    out.shot = await shoot(`${args.dir}/basemap.png`);
  } else if (scenario === 'refresh') {
    await open(args.hash);
    await idle();
    const tiles = () => page.evaluate(() => window.paicha.app.map.getSource('villages').tiles[0]);
    out.before = await tiles();
    out.status = await page.evaluate(async ([path, body]) => {
      const r = await fetch(path, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return r.status;
    }, [args.path, args.body]);
    // Coming back to the tab: what a leader does after someone edited the ledger.
    await page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
    await page.waitForFunction((before) => window.paicha.app.map.getSource('villages').tiles[0] !== before, out.before);
    out.after = await tiles();
  } else if (scenario === 'popup') {
    await open(args.hash);
    await idle();
    const p = await screen(args.lon, args.lat);
    await page.mouse.click(p.x, p.y);
    await page.waitForSelector('.maplibregl-popup-content h4');
    out.popup = await text('.maplibregl-popup-content');
  } else if (scenario === 'plan') {
    await open('#view=plan');
    await page.waitForSelector('#plan-form');
    if (args.from) {
      await idle();
      await page.click('#draw [data-tool="rectangle"]');
      const a = await screen(args.from[0], args.from[1]);
      const b = await screen(args.to[0], args.to[1]);
      await page.mouse.move(a.x, a.y);
      await page.mouse.down();
      await page.mouse.move(b.x, b.y, { steps: 6 });
      await page.mouse.up();
      await page.waitForFunction(() => window.paicha.lastQuery, null, { timeout: 10000 });
      await page.check('#plan-use-area');
    } else {
      await page.selectOption('#plan-townships', args.townships);
    }
    if (args.start) {
      await idle();
      await page.click('#plan-pick-start');
      const p = await screen(args.start[0], args.start[1]);
      await page.mouse.click(p.x, p.y);
      await page.waitForFunction(() => !document.querySelector('#plan-clear-start').hidden);
    }
    await page.fill('#plan-days', String(args.days));
    await page.fill('#plan-sample', String(args.sample));
    await page.click('#plan-submit');
    await page.waitForSelector('#plan-summary', { timeout: 60000 });
    await idle();
    out.id = await page.evaluate(() => window.paicha.plan.id);
    out.summary = await text('#plan-summary');
    out.routes = await page.evaluate(() => window.paicha.app.map.querySourceFeatures('plan')
      .filter((f) => f.properties.layer === 'route').length);
    out.downloads = await page.$$eval('#plan-result .exports a', (as) => as.map((a) => a.getAttribute('href')));
    out.hash = await page.evaluate(() => location.hash);
    if (args.screenshot) await page.screenshot({ path: args.screenshot });
  } else {
    throw new Error(`unknown scenario ${scenario}`);
  }
} catch (e) {
  out.exception = String(e && e.stack ? e.stack : e);
}
out.errors = errors;
await browser.close();
process.stdout.write(JSON.stringify(out));
