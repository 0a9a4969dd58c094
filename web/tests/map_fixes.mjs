// Drives Debian's Chromium with playwright-core for the web map's fixes of issue 21
// (tests/browser_map.rs). Like browser.mjs it only acts and observes; the Rust tests
// compare what it saw with the API's own answers.
//
//   node web/tests/map_fixes.mjs <scenario> <base-url> [json-args]
//
// Prints one JSON object on stdout: the scenario's observations plus `errors`, every
// console error, page error and failed request the page produced.

import { readFile } from 'node:fs/promises';
import { launch } from './chromium.mjs';

const [scenario, base, rawArgs] = process.argv.slice(2);
const args = rawArgs ? JSON.parse(rawArgs) : {};

const browser = await launch();
const context = await browser.newContext({
  viewport: { width: args.width || 1400, height: args.height || 860 },
  deviceScaleFactor: 1,
  acceptDownloads: true,
});
const page = await context.newPage();
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
  await page.goto(`${base}/${hash}`);
  await page.waitForFunction(() => window.paicha && (window.paicha.ready || window.paicha.failed), null, { timeout: 30000 });
  const failed = await page.evaluate(() => window.paicha.failed);
  if (failed) throw new Error(`the page failed to start: ${failed}`);
}

const idle = () => page.evaluate(() => new Promise((resolve) => {
  const { map } = window.paicha.app;
  if (map.loaded() && !map.isMoving()) resolve(); else map.once('idle', resolve);
}));

/** Screen position of a lon/lat on the map canvas, in page pixels, and whether the map
 * itself is what shows there (no box, control or panel over it). */
async function screen(lon, lat) {
  return page.evaluate(([x, y]) => {
    const { map } = window.paicha.app;
    const p = map.project([x, y]);
    const canvas = map.getCanvas();
    const r = canvas.getBoundingClientRect();
    const sx = r.left + p.x;
    const sy = r.top + p.y;
    const inside = sx >= r.left && sx < r.right && sy >= r.top && sy < r.bottom;
    return { x: sx, y: sy, clear: inside && document.elementFromPoint(sx, sy) === canvas };
  }, [lon, lat]);
}

/** Saves a screenshot of the page for the Rust test to read pixels from. */
async function shoot(path) {
  await page.mouse.move(1, 1);
  await page.screenshot({ path });
  return path;
}

const text = (sel) => page.$eval(sel, (e) => e.textContent.trim());

/** Whether an element is shown: present, no hidden ancestor, laid out. */
const shown = (sel) => page.evaluate((s) => {
  const el = document.querySelector(s);
  return !!el && !el.closest('[hidden]') && el.getClientRects().length > 0;
}, sel);

async function legendState() {
  return {
    box: await shown('#legend'),
    classes: await shown('#legend-classes'),
    heat: await shown('#legend-heat'),
    heatTitle: await page.$eval('#legend-heat', (e) => e.querySelector('strong')?.textContent.trim() || '').catch(() => ''),
    heatLow: await page.$eval('#heat-low', (e) => e.textContent.trim()).catch(() => ''),
    heatHigh: await page.$eval('#heat-high', (e) => e.textContent.trim()).catch(() => ''),
    heatLayer: await page.evaluate(() => !!window.paicha.app.map.getLayer('heat')),
  };
}

const rankingCodes = () => page.$$eval('#ranking-table tbody tr', (rows) => rows.map((r) => r.dataset.code));

const out = {};
try {
  if (scenario === 'points') {
    // Household points at a zoom where each is drawn: their positions on screen and a
    // screenshot to read their colours from.
    await open(args.hash);
    await idle();
    if (args.flag) {
      await page.waitForFunction((flag) => window.paicha.qualityPoints === flag, args.flag, { timeout: 20000 });
      await idle();
    }
    out.points = [];
    for (const p of args.points) {
      // eslint-disable-next-line no-await-in-loop
      out.points.push({ no: p.no, ...(await screen(p.lon, p.lat)) });
    }
    out.rendered = await page.evaluate((pts) => {
      const { map } = window.paicha.app;
      return pts.map((p) => {
        const r = map.getCanvas().getBoundingClientRect();
        const hits = map.queryRenderedFeatures([p.x - r.left, p.y - r.top], { layers: ['households'] });
        return hits.map((f) => ({ no: f.properties.household_no, failed: f.properties.failed }));
      });
    }, out.points);
    out.shot = await shoot(`${args.dir}/points.png`);
  } else if (scenario === 'heat-legend') {
    await open('#heat=count');
    await idle();
    out.count = await legendState();
    await page.selectOption('#heat-mode', 'rate');
    await idle();
    out.rate = await legendState();
    await page.uncheck('#layer-choropleth');
    out.noChoropleth = await legendState();
    await page.uncheck('#layer-heat');
    out.nothing = await legendState();
    await page.check('#layer-choropleth');
    out.choroplethOnly = await legendState();
  } else if (scenario === 'hashchange') {
    // A link pasted into a tab that already shows the map.
    await open('');
    await idle();
    await page.evaluate((h) => { window.location.hash = h; }, args.hash);
    await page.waitForFunction(([name, ind]) => document.querySelector('#area-name')?.textContent === name
      && document.querySelector('#area .figure')?.dataset.indicator === ind, [args.name, args.indicator], { timeout: 20000 });
    await idle();
    out.indicator = await page.$eval('#indicator', (e) => e.value);
    out.heatChecked = await page.$eval('#layer-heat', (e) => e.checked);
    out.heatVisible = await page.evaluate(() => !!window.paicha.app.map.getLayer('heat'));
    out.level = await page.$eval('#level', (e) => e.value);
    out.labels = await page.$eval('#layer-labels', (e) => e.checked);
    out.areaName = await text('#area-name');
    out.count = await text('#area-count');
    out.zoom = await page.evaluate(() => window.paicha.app.map.getZoom());
    out.center = await page.evaluate(() => window.paicha.app.map.getCenter().toArray());
    out.crumbs = await text('#crumbs');
    // A second link: another view, another area.
    await page.evaluate((h) => { window.location.hash = h; }, args.hash2);
    await page.waitForSelector('#quality-households', { timeout: 20000 });
    out.view = await page.$eval('#views button[aria-pressed="true"]', (b) => b.dataset.view);
    out.flag = await page.$eval('#flag', (e) => e.value);
    out.qualityRows = await page.$$eval('#quality-households tbody tr', (rows) => rows.length);
    out.crumbs2 = await text('#crumbs');
  } else if (scenario === 'ranking') {
    await open(args.hash || '');
    await page.waitForSelector('#ranking-table');
    out.townships = await rankingCodes();
    out.townshipExports = await page.$$eval('#ranking .exports a[download]', (as) => as.map((a) => a.getAttribute('href')));
    await page.click('#ranking [data-rank="village"]');
    await page.waitForFunction(() => [...document.querySelectorAll('#ranking-table tbody tr')]
      .some((r) => (r.dataset.code || '').length === 12), null, { timeout: 20000 });
    out.villages = await rankingCodes();
    out.villageTownships = await page.$$eval('#ranking-table tbody tr', (rows) => rows.map((r) => r.dataset.township));
    out.villageExports = await page.$$eval('#ranking .exports a[download]', (as) => as.map((a) => a.getAttribute('href')));
    out.hash = await page.evaluate(() => window.location.hash);
    // Inside a township: its villages, and the exports in the same order.
    await page.click(`#ranking-table tbody tr[data-code="${args.village}"]`);
    await page.waitForSelector('#households-table');
    await page.click('#crumbs a[data-code^="2"]');
    await page.waitForFunction((t) => document.querySelector('#area-name')?.textContent === t, args.townshipName);
    await page.waitForFunction(() => document.querySelector('#ranking-table tbody tr')?.dataset.code.length === 12);
    out.inTownship = await rankingCodes();
    out.inTownshipExports = await page.$$eval('#ranking .exports a[download]', (as) => as.map((a) => a.getAttribute('href')));
  } else if (scenario === 'city') {
    // Several counties under a city: the page starts at the city and ranks its counties.
    await open('');
    await page.waitForSelector('#ranking-table');
    out.title = await text('#county');
    out.area = await text('#area-name');
    out.crumbs = await text('#crumbs');
    out.counties = await rankingCodes();
    out.heading = await text('#ranking h3');
    out.levels = await page.$$eval('#level option', (os) => os.map((o) => o.value));
    // 按县: the counties coloured, the legend counting counties.
    await page.selectOption('#level', 'county');
    await page.waitForFunction(() => document.querySelector('#legend td.num')?.textContent.includes('个县'), null, { timeout: 10000 });
    await idle();
    out.countyFill = await page.evaluate(() => window.paicha.app.map.getLayoutProperty('county-fill', 'visibility'));
    out.legendUnit = await page.$eval('#legend td.num', (e) => e.textContent.trim());
    // Into a county: its townships, the crumbs from the city, townships coloured.
    await page.click(`#ranking-table tbody tr[data-code="${args.county}"]`);
    await page.waitForFunction((n) => document.querySelector('#area-name')?.textContent === n, args.countyName);
    await page.waitForFunction(() => document.querySelector('#ranking-table tbody tr')?.dataset.code.length === 9);
    out.inCounty = await rankingCodes();
    out.inCountyCrumbs = await text('#crumbs');
    out.inCountyLevel = await page.$eval('#level', (e) => e.value);
    // Back to the city by its crumb.
    await page.click('#crumbs a[data-code=""]');
    await page.waitForFunction((n) => document.querySelector('#area-name')?.textContent === n, out.area);
    await page.waitForFunction(() => document.querySelector('#ranking-table tbody tr')?.dataset.code.length === 6);
    out.back = await rankingCodes();
  } else if (scenario === 'province') {
    // Two cities under a province: the page starts at the province and ranks its cities.
    await open('');
    await page.waitForSelector('#ranking-table');
    out.title = await text('#county');
    out.cities = await rankingCodes();
    out.heading = await text('#ranking h3');
    out.levels = await page.$$eval('#level option', (os) => os.map((o) => o.value));
    // 按市: the cities coloured, the legend counting cities, each city's pixel in the
    // colour of its class.
    await page.selectOption('#level', 'city');
    await page.waitForFunction(() => document.querySelector('#legend td.num')?.textContent.includes('个市'), null, { timeout: 10000 });
    await idle();
    out.cityFill = await page.evaluate(() => window.paicha.app.map.getLayoutProperty('city-fill', 'visibility'));
    out.legendUnit = await page.$eval('#legend td.num', (e) => e.textContent.trim());
    await page.click('#layer-households');
    await page.click('#layer-labels');
    await idle();
    out.points = [];
    for (const p of args.points) {
      // eslint-disable-next-line no-await-in-loop
      out.points.push({ code: p.code, ...(await screen(p.lon, p.lat)) });
    }
    out.shot = await shoot(args.shot);
    await page.click('#layer-households');
    await page.click('#layer-labels');
    // Into a city: its counties, counties coloured, the crumbs from the province.
    await page.click(`#ranking-table tbody tr[data-code="${args.city}"]`);
    await page.waitForFunction((n) => document.querySelector('#area-name')?.textContent === n, args.cityName);
    await page.waitForFunction(() => document.querySelector('#ranking-table tbody tr')?.dataset.code.length === 6);
    out.inCity = await rankingCodes();
    out.inCityCrumbs = await text('#crumbs');
    out.inCityLevel = await page.$eval('#level', (e) => e.value);
    // Into one of its counties: its townships.
    await page.click(`#ranking-table tbody tr[data-code="${args.county}"]`);
    await page.waitForFunction(() => document.querySelector('#ranking-table tbody tr')?.dataset.code.length === 9);
    out.inCounty = await rankingCodes();
    out.inCountyCrumbs = await text('#crumbs');
    out.inCountyLevel = await page.$eval('#level', (e) => e.value);
    // Back to the province by its crumb.
    await page.click('#crumbs a[data-code=""]');
    await page.waitForFunction(() => document.querySelector('#ranking-table tbody tr')?.dataset.code.length === 4);
    out.back = await rankingCodes();
  } else if (scenario === 'layout') {
    await open('');
    await idle();
    out.townships = await page.evaluate(async () => {
      const { map } = window.paicha.app;
      const canvas = map.getCanvas();
      const r = canvas.getBoundingClientRect();
      const [areas, labels] = await Promise.all([
        fetch('api/v1/areas.geojson?level=township').then((x) => x.json()),
        fetch('api/v1/areas.geojson?level=township&geometry=label').then((x) => x.json()),
      ]);
      const visible = (lon, lat) => {
        const p = map.project([lon, lat]);
        const x = r.left + p.x;
        const y = r.top + p.y;
        if (x < r.left || x >= r.right || y < r.top || y >= r.bottom) return 'offscreen';
        return document.elementFromPoint(x, y) === canvas ? 'clear' : 'covered';
      };
      const inRing = (ring, x, y) => {
        let inside = false;
        for (let i = 0, j = ring.length - 1; i < ring.length; j = i, i += 1) {
          const [xi, yi] = ring[i];
          const [xj, yj] = ring[j];
          if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
        }
        return inside;
      };
      const inPolygon = (poly, x, y) => inRing(poly[0], x, y) && !poly.slice(1).some((h) => inRing(h, x, y));
      return areas.features.map((f) => {
        const polys = f.geometry.type === 'Polygon' ? [f.geometry.coordinates] : f.geometry.coordinates;
        const b = [Infinity, Infinity, -Infinity, -Infinity];
        for (const poly of polys) {
          for (const [x, y] of poly[0]) {
            b[0] = Math.min(b[0], x); b[1] = Math.min(b[1], y);
            b[2] = Math.max(b[2], x); b[3] = Math.max(b[3], y);
          }
        }
        const seen = { clear: 0, covered: 0, offscreen: 0 };
        const n = 60;
        for (let i = 0; i < n; i += 1) {
          for (let j = 0; j < n; j += 1) {
            const x = b[0] + ((i + 0.5) / n) * (b[2] - b[0]);
            const y = b[1] + ((j + 0.5) / n) * (b[3] - b[1]);
            if (polys.some((poly) => inPolygon(poly, x, y))) seen[visible(x, y)] += 1;
          }
        }
        const label = labels.features.find((l) => l.properties.code === f.properties.code);
        const [lx, ly] = label.geometry.coordinates;
        return { code: f.properties.code, name: f.properties.name, ...seen, label: visible(lx, ly) };
      });
    });
  } else if (scenario === 'drill') {
    await open(args.hash);
    await idle();
    const p = await screen(args.lon, args.lat);
    await page.mouse.click(p.x, p.y);
    await page.waitForFunction((name) => document.querySelector('#area-name')?.textContent === name, args.name);
    await page.waitForSelector('#ranking-table');
    // The township's villages replace the county's townships in the ranking and legend
    // (slower on a loaded machine than the area's name).
    const township = args.villages[0].code.slice(0, 9);
    await page.waitForFunction((code) => {
      const rows = [...document.querySelectorAll('#ranking-table tbody tr[data-code]')];
      return rows.length > 0 && rows.every((r) => r.dataset.code.startsWith(code))
        && document.querySelector('#legend-classes td.num')?.textContent.includes('个村');
    }, township, { timeout: 20000 });
    await idle();
    out.level = await page.$eval('#level', (e) => e.value);
    out.hash = await page.evaluate(() => window.location.hash);
    out.legendUnit = await page.$eval('#legend td.num', (e) => e.textContent.trim());
    out.ranking = await rankingCodes();
    out.villageFill = await page.evaluate(() => window.paicha.app.map.getLayoutProperty('village-fill', 'visibility'));
    out.townshipFill = await page.evaluate(() => window.paicha.app.map.getLayoutProperty('township-fill', 'visibility'));
    out.points = [];
    for (const v of args.villages) {
      // eslint-disable-next-line no-await-in-loop
      out.points.push({ code: v.code, ...(await screen(v.lon, v.lat)) });
    }
    out.shot = await shoot(`${args.dir}/drill.png`);
  } else if (scenario === 'quality-area') {
    await open(`#view=quality&area=${args.township}&flag=${args.flag}`);
    await page.waitForFunction((name) => document.querySelector('#area h2')?.textContent.includes(name), args.townshipName, { timeout: 20000 });
    out.title = await text('#area h2');
    out.households = await text('#quality-households-total');
    out.located = await text('#quality-located');
    out.flags = await page.$$eval('#quality-flags tbody tr', (rows) => rows.map((r) => ({ flag: r.dataset.flag, count: r.cells[1].textContent.trim() })));
    await page.goto('about:blank');
    await open(`#view=quality&area=${args.village}&flag=${args.flag}`);
    await page.waitForSelector('#quality-households', { timeout: 20000 });
    out.villageTitle = await text('#area h2');
    out.rows = await page.$$eval('#quality-households tbody tr', (rows) => rows.map((r) => ({
      no: r.dataset.household, evidence: r.querySelector('.evidence')?.textContent.trim() ?? null,
    })));
    out.header = await page.$$eval('#quality-households thead th', (ths) => ths.map((t) => t.textContent.trim()));
  } else if (scenario === 'drawn-csv') {
    await open(args.hash || '');
    await idle();
    await page.click('#draw [data-tool="rectangle"]');
    const a = await screen(args.from[0], args.from[1]);
    const b = await screen(args.to[0], args.to[1]);
    await page.mouse.move(a.x, a.y);
    await page.mouse.down();
    await page.mouse.move(b.x, b.y, { steps: 6 });
    await page.mouse.up();
    await page.waitForFunction(() => window.paicha.lastQuery, null, { timeout: 10000 });
    out.body = await page.evaluate(() => window.paicha.lastQuery.body);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#drawn-csv')]);
    out.filename = download.suggestedFilename();
    out.csv = await readFile(await download.path(), 'utf8');
  } else if (scenario === 'names') {
    await open(`#area=${args.township}&map=${args.map}`);
    await page.waitForSelector('#ranking-table');
    await idle();
    out.areaName = await text('#area-name');
    out.ranking = await page.$$eval('#ranking-table tbody tr', (rows) => rows.map((r) => ({ code: r.dataset.code, name: r.cells[1].textContent.trim() })));
    out.labels = await page.evaluate(() => window.paicha.app.map.queryRenderedFeatures({ layers: ['village-label'] })
      .map((f) => ({ code: f.properties.code, name: f.properties.name })));
    const p = await screen(args.hover[0], args.hover[1]);
    await page.mouse.move(p.x, p.y);
    await page.waitForFunction(() => !document.querySelector('#tooltip').hidden);
    out.tooltip = await text('#tooltip strong');
    await page.click(`#ranking-table tbody tr[data-code="${args.village}"]`);
    await page.waitForSelector('#households-table');
    out.villageName = await text('#area-name');
    out.crumbs = await page.$$eval('#crumbs a, #crumbs strong', (es) => es.map((e) => e.textContent.trim()));
    out.bodyText = await page.evaluate(() => document.body.innerText);
    await page.goto('about:blank');
    await open('#view=quality');
    await page.waitForSelector('#quality-villages');
    out.quality = await page.$$eval('#quality-villages tbody tr', (rows) => rows.map((r) => ({ code: r.dataset.code, name: r.cells[1].textContent.trim() })));
  } else {
    throw new Error(`unknown scenario ${scenario}`);
  }
} catch (e) {
  out.exception = String(e && e.stack ? e.stack : e);
}
out.errors = errors;
await browser.close();
process.stdout.write(JSON.stringify(out));
