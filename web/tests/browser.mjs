// Drives Debian's Chromium with playwright-core for the browser tests in
// tests/browser.rs, and for bench/web.sh. It only acts and observes; the Rust tests
// compare what it saw with the API's own answers.
//
//   node web/tests/browser.mjs <scenario> <base-url> [json-args]
//
// Prints one JSON object on stdout: the scenario's observations plus `errors`, every
// console error, page error and failed request the page produced.

import { launch } from './chromium.mjs';

const [scenario, base, rawArgs] = process.argv.slice(2);
const args = rawArgs ? JSON.parse(rawArgs) : {};

const browser = await launch();
const page = await browser.newPage({ viewport: { width: args.width || 1400, height: args.height || 860 }, deviceScaleFactor: 1 });
const errors = [];
// Answers a scenario provokes on purpose (a stale edit's 409, a broken rule's 400):
// { status, method, url } with url a substring. They are listed in `expected` instead
// of `errors`, so that the Rust test can check they happened.
const expectedAnswers = [];
// Set by a scenario that leaves the page on purpose (to sign in or out): the page's
// requests under way are then aborted by the browser, which is no failure.
let navigating = false;
const expected = [];
const isExpected = (status, url, method) => expectedAnswers.some((a) => a.status === status
  && url.includes(a.url) && (!method || !a.method || a.method === method));
page.on('console', (m) => {
  if (m.type() !== 'error') return;
  // Chromium logs every 4xx answer to fetch() as "Failed to load resource".
  const status = Number(m.text().match(/status of (\d{3})/)?.[1]);
  if (status && isExpected(status, m.location()?.url || '')) return;
  errors.push(`console: ${m.text()}`);
});
page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
page.on('requestfailed', (r) => {
  // MapLibre cancels the tiles of a view it has left: an abort it asked for is no failure.
  const text = r.failure()?.errorText;
  if (text === 'net::ERR_ABORTED' && (r.url().includes('/tiles/') || navigating)) return;
  errors.push(`request failed: ${r.url()} ${text}`);
});
page.on('response', (r) => {
  if (r.status() < 400) return;
  if (isExpected(r.status(), r.url(), r.request().method())) {
    expected.push({ status: r.status(), method: r.request().method(), url: r.url() });
  } else errors.push(`HTTP ${r.status()}: ${r.url()}`);
});

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

// ---------------------------------------------------------------- the ledger page

/** Opens ledger.html at a hash and waits until it has drawn everything. */
async function openLedger(hash = '') {
  const t0 = Date.now();
  await page.goto(`${base}/ledger.html${hash}`);
  await page.waitForFunction(() => window.ledger && (window.ledger.ready || window.ledger.failed), null, { timeout: 30000 });
  const failed = await page.evaluate(() => window.ledger.failed);
  if (failed) throw new Error(`the ledger page failed to start: ${failed}`);
  await ledgerSettled();
  return Date.now() - t0;
}

/** Waits until the ledger page has no request under way. */
const ledgerSettled = () => page.waitForFunction(() => window.ledger.busy === 0, null, { timeout: 30000 });

/** Waits until the entry panel shows `key` (village/position) at `version` (if given). */
async function entryShown(key, version) {
  await page.waitForFunction(([k, v]) => {
    const panel = document.querySelector('#entry');
    return panel && !panel.hidden && panel.dataset.key === k && (v == null || panel.dataset.version === String(v))
      && window.ledger.busy === 0;
  }, [key, version ?? null], { timeout: 30000 });
}

/** What the entry panel shows. */
async function entryPanel() {
  return page.evaluate(() => {
    const q = (sel) => document.querySelector(sel);
    const rows = (sel) => [...document.querySelectorAll(`${sel} tbody tr[data-field]`)].map((r) => ({
      version: Number(r.dataset.version),
      field: r.dataset.field,
      time: r.cells[1].textContent,
      datetime: r.querySelector('time')?.getAttribute('datetime'),
      by: r.cells[2].textContent,
      label: r.cells[3].textContent,
      old: r.cells[4].textContent,
      new: r.cells[5].textContent,
    }));
    const value = (id) => q(`#${id}`)?.value;
    return {
      key: q('#entry').dataset.key,
      version: Number(q('#entry').dataset.version),
      title: q('#entry-title').textContent,
      content: q('#entry-content').textContent,
      status: q('#entry-status').dataset.status,
      statusText: q('#entry-status').textContent,
      overdue: !!q('#entry-overdue'),
      updatedBy: q('#entry-updated-by').textContent,
      signatures: Object.fromEntries([...document.querySelectorAll('#entry-signatures dd')].map((d) => [d.dataset.signer, d.textContent])),
      form: {
        status: value('f-status'), problem: value('f-problem'), measure: value('f-measure'), deadline: value('f-deadline'),
        responsible: value('f-responsible'), result: value('f-result'), notes: value('f-notes'),
      },
      history: rows('#history'),
      historyHead: [...document.querySelectorAll('#history thead th')].map((th) => th.textContent),
      conflictShown: !q('#conflict').hidden,
      conflict: rows('#conflict-changes'),
      conflictText: q('#conflict').hidden ? '' : q('#conflict').textContent,
      errors: Object.fromEntries([...document.querySelectorAll('#entry .field-error')].filter((p) => !p.hidden)
        .map((p) => [p.id.replace(/^err-/, ''), p.textContent])),
      saveStatus: q('#save-status')?.textContent,
    };
  });
}

/** The entries table: each row's key (village/position) and status, and the counts. */
async function entriesShown() {
  return page.evaluate(() => ({
    rows: [...document.querySelectorAll('#entries-table tbody tr[data-key]')].map((r) => ({
      key: r.dataset.key, village: r.cells[0].textContent, status: r.cells[4].textContent,
    })),
    total: document.querySelector('#entries-total')?.textContent,
    range: document.querySelector('#entries-range')?.textContent,
    hash: window.location.hash,
  }));
}

/** Waits until the entries table shows the filters in the hash. */
async function entriesSettled() {
  await page.waitForFunction(() => window.ledger.busy === 0
    && document.querySelector('#entries-table')?.dataset.key === window.ledger.listQuery(), null, { timeout: 30000 });
}

/** Sends a request from outside the page (another user, through the API). */
// The API as another client (a script with the tests' token, PAICHA_TOKEN).
async function api(method, path, body) {
  const auth = process.env.PAICHA_TOKEN ? { authorization: `Bearer ${process.env.PAICHA_TOKEN}` } : {};
  const r = await fetch(`${base}${path}`, {
    method,
    headers: body ? { 'content-type': 'application/json', ...auth } : auth,
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: r.status, body: await r.json() };
}

// ---------------------------------------------------------------- signing in

/** Opens `path` signed out: the page sends the user to the sign-in page, which on the
 * demo lists one account per role; a click signs in as `user` and comes back. */
async function signInAs(user, path = '/') {
  expectedAnswers.push({ status: 401, method: 'GET', url: '/api/v1/session' });
  navigating = true;
  await page.goto(`${base}${path}`);
  await page.waitForSelector('#demo-list button', { timeout: 30000 });
  const seen = {
    signInUrl: page.url().replace(base, ''),
    demoAccounts: await page.$$eval('#demo-list button', (bs) => bs.map((b) => b.dataset.user)),
  };
  await page.click(`#demo-list button[data-user="${user}"]`);
  return seen;
}

/** Waits until the map page has started, and fails if it could not. */
async function mapReady() {
  await page.waitForFunction(() => window.paicha && (window.paicha.ready || window.paicha.failed), null, { timeout: 30000 });
  const failed = await page.evaluate(() => window.paicha.failed);
  if (failed) throw new Error(`the page failed to start: ${failed}`);
  await idle();
}

/** What the map's panel shows: the area, the ranking's areas and the header. */
async function mapPanel() {
  return page.evaluate(() => ({
    areaName: document.querySelector('#area-name')?.textContent,
    ranked: [...document.querySelectorAll('#ranking-table tbody tr[data-code]')].map((r) => r.dataset.code),
    rankedNames: [...document.querySelectorAll('#ranking-table tbody tr[data-code]')].map((r) => r.cells[1].textContent),
    county: document.querySelector('#county').textContent,
    title: document.title,
    scope: document.querySelector('#scope').value,
    hash: window.location.hash,
    center: window.paicha.app.map.getCenter().toArray(),
  }));
}

// ---------------------------------------------------------------- the admin page

/** Waits until admin.html has drawn, and fails if it could not. */
async function adminReady() {
  await page.waitForFunction(() => window.admin && (window.admin.ready || window.admin.failed), null, { timeout: 30000 });
  const failed = await page.evaluate(() => window.admin.failed);
  if (failed) throw new Error(`the admin page failed to start: ${failed}`);
}

/** Waits until no request of a click on admin.html is under way. */
const adminSettled = () => page.waitForFunction(() => window.admin.busy === 0, null, { timeout: 30000 });

/** The grants the users table shows for `user`. */
const grantsShown = (user) => page.$$eval(`#user-table tr[data-user="${user}"] td.grants .grant`, (spans) => spans.map((g) => ({
  role: g.dataset.role, area: g.dataset.area, until: g.dataset.until || null, text: g.textContent,
})));

/** The audit lines shown, and whether 更早的记录 is offered. */
const auditShown = () => page.evaluate(() => ({
  lines: [...document.querySelectorAll('#audit-table tbody tr[data-at]')].map((r) => ({
    at: r.cells[0].textContent, user: r.cells[1].textContent, detail: r.cells[4].textContent,
  })),
  moreHidden: document.querySelector('#audit-more').hidden,
  count: document.querySelector('#audit-count').textContent,
}));

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
    out.householdsFiles = await page.$$eval('#households-exports a', (as) => as.map((a) => a.getAttribute('href')));
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
  } else if (scenario === 'changes') {
    // 数据变化: the two versions compared, the villages coloured by the indicator's
    // change, then the village whose house was found dangerous, and its pixel.
    await open(args.hash);
    await page.waitForSelector('#changes-figures');
    await idle();
    const changesPanel = () => page.evaluate(() => ({
      area: document.querySelector('#changes-area')?.textContent,
      from: document.querySelector('#changes-from')?.value,
      to: document.querySelector('#changes-to')?.value,
      added: document.querySelector('#changes-added')?.textContent,
      removed: document.querySelector('#changes-removed')?.textContent,
      entered: document.querySelector('#changes-entered')?.textContent,
      resolved: document.querySelector('#changes-resolved')?.textContent,
      moves: [...document.querySelectorAll('#changes-moves li')].map((li) => li.textContent),
      figures: [...document.querySelectorAll('#changes-figures tbody tr')].map((r) => [r.dataset.ind, ...[...r.cells].map((c) => c.textContent)]),
      ranking: [...document.querySelectorAll('#changes-ranking tbody tr')].map((r) => [r.dataset.code, r.cells[4].textContent]),
      chartPoints: document.querySelectorAll('#changes-trend svg circle').length,
      households: [...document.querySelectorAll('#changes-households tbody tr')].map((r) => [r.dataset.household, ...[...r.cells].map((c) => c.textContent)]),
      pressed: document.querySelector('#views button[data-view="changes"]').getAttribute('aria-pressed'),
    }));
    out.county = await changesPanel();
    // Picked the other way round, the two versions are swapped: the same comparison.
    const [v1, v2] = [out.county.from, out.county.to];
    const compared = ([a, b]) => window.paicha.changes?.from.version === Number(a)
      && window.paicha.changes?.to.version === Number(b);
    await page.selectOption('#changes-from', v2);
    await page.waitForFunction(compared, [v2, v2], { timeout: 30000 });
    await page.selectOption('#changes-to', v1);
    await page.waitForFunction(compared, [v1, v2], { timeout: 30000 });
    await idle();
    out.swapped = await changesPanel();
    out.legend = await legend();
    out.painted = await page.evaluate(() => window.paicha.changesPainted);
    await page.evaluate((code) => window.paicha.app.changes && document.querySelector(`#changes-ranking tr[data-code="${code}"]`)?.click(), args.township);
    await page.waitForFunction((code) => window.paicha.changes?.within.code === code, args.township, { timeout: 30000 });
    out.township = await changesPanel();
    await page.evaluate((village) => { window.location.hash = `view=changes&ind=unsafe_housing&lbl=0&hh=0&area=${village}`; }, args.village);
    await page.waitForFunction((code) => window.paicha.changes?.within.code === code
      && document.querySelector('#changes-households'), args.village, { timeout: 30000 });
    await idle();
    out.village = await changesPanel();
    out.point = await screen(args.lon, args.lat);
    out.shot = await shoot(`${args.dir}/changes.png`);
    // 指标一张图's area panel draws the indicator over the versions too.
    await page.click('#views button[data-view="indicators"]');
    await page.waitForSelector('#area-trend svg', { timeout: 30000 });
    out.areaTrend = await page.evaluate(() => ({
      title: document.querySelector('#area-trend h3')?.textContent,
      points: document.querySelectorAll('#area-trend svg circle').length,
      png: document.querySelector('#area-trend a')?.getAttribute('href'),
    }));
  } else if (scenario === 'crosschecks') {
    // 账账比对: the county's rules; a rule chosen colours the map by its indicator and
    // lists its mismatches; the answered list uploaded back shows in the list.
    await open('#view=crosschecks&hh=0');
    await page.waitForSelector('#crosscheck-mismatches', { timeout: 30000 });
    await idle();
    const panel = () => page.evaluate(() => ({
      pressed: document.querySelector('#views button[data-view="crosschecks"]').getAttribute('aria-pressed'),
      rules: [...document.querySelectorAll('#crosscheck-rules tbody tr')].map((r) => [r.dataset.rule, ...[...r.cells].map((c) => c.textContent)]),
      current: document.querySelector('#crosscheck-rules tr.current')?.dataset.rule,
      indicator: document.querySelector('#indicator').value,
      title: document.querySelector('#crosscheck-rule')?.textContent,
      mismatches: [...document.querySelectorAll('#crosscheck-mismatches tbody tr')].map((r) => [r.dataset.check, ...[...r.cells].map((c) => c.textContent)]),
      xlsx: document.querySelector('#crosscheck-xlsx')?.getAttribute('href'),
    }));
    out.first = await panel();
    await page.click(`#crosscheck-rules tr[data-rule="${args.rule}"]`);
    await page.waitForFunction((rule) => window.paicha.crosschecks?.rule === rule, args.rule, { timeout: 30000 });
    await idle();
    out.chosen = await panel();
    out.legend = await legend();
    await page.setInputFiles('#crosscheck-file', args.answers);
    await page.click('#crosscheck-answers button[type="submit"]');
    await page.waitForFunction(() => window.paicha.crosscheckAnswers, null, { timeout: 30000 });
    await page.waitForFunction((rule) => window.paicha.crosschecks?.body.rules.find((r) => r.id === rule)?.answered > 0
      && document.querySelector('#crosscheck-mismatches'), args.rule, { timeout: 30000 });
    out.answer = await page.evaluate(() => window.paicha.crosscheckAnswers);
    out.answered = await panel();
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
    if (args.dayStart) await page.fill('#plan-day-start', args.dayStart);
    await page.click('#plan-submit');
    await page.waitForSelector('#plan-summary', { timeout: 60000 });
    await idle();
    out.id = await page.evaluate(() => window.paicha.plan.id);
    out.firstArrival = await page.$eval('.plan-day tbody tr td:nth-child(2)', (e) => e.textContent.trim());
    out.summary = await text('#plan-summary');
    out.routes = await page.evaluate(() => window.paicha.app.map.querySourceFeatures('plan')
      .filter((f) => f.properties.layer === 'route').length);
    out.downloads = await page.$$eval('#plan-result .exports a', (as) => as.map((a) => a.getAttribute('href')));
    out.hash = await page.evaluate(() => location.hash);
    if (args.screenshot) await page.screenshot({ path: args.screenshot });
  } else if (scenario === 'ledger-matrix') {
    await openLedger(args.hash || '');
    if (args.township) {
      await page.selectOption('#township', args.township);
      await page.waitForFunction((t) => document.querySelector('#matrix')?.dataset.township === t
        && window.ledger.busy === 0, args.township);
    }
    out.campaign = await page.$eval('#campaign', (e) => e.value);
    out.township = await page.$eval('#township', (e) => e.value);
    out.townships = await page.$$eval('#township option', (os) => os.map((o) => ({ code: o.value, name: o.textContent })));
    out.matrixTownship = await page.$eval('#matrix', (e) => e.dataset.township);
    out.items = await page.$$eval('#matrix th.item', (ths) => ths.map((th) => ({ position: Number(th.dataset.position), number: th.textContent })));
    out.villages = await page.$$eval('#matrix tbody tr', (trs) => trs.map((tr) => ({
      code: tr.dataset.village,
      name: tr.querySelector('th').textContent,
      title: tr.querySelector('th').title,
      cells: [...tr.querySelectorAll('td.cell')].map((td) => ({
        position: Number(td.dataset.position),
        status: td.dataset.status || null,
        color: getComputedStyle(td).backgroundColor,
        label: td.querySelector('button')?.getAttribute('aria-label') || null,
      })),
    })));
    out.legend = await page.$$eval('#status-legend li', (lis) => lis.map((li) => ({
      status: li.dataset.status,
      label: li.querySelector('.label').textContent,
      count: li.querySelector('.num').textContent,
      color: getComputedStyle(li.querySelector('.sw')).backgroundColor,
    })));
    out.hash = await page.evaluate(() => window.location.hash);
    if (args.names) {
      // The page's own rule for short village names, on names the demo may not have.
      out.short = await page.evaluate(async (names) => {
        const { shortName } = await import('./js/api.js');
        return names.map(shortName);
      }, args.names);
    }
    if (args.click) {
      const key = `${args.click[0]}/${args.click[1]}`;
      await page.click(`#matrix button[data-open="${key}"]`);
      await entryShown(key);
      out.opened = await entryPanel();
      out.openCell = await page.$eval('#matrix td.open', (td) => `${td.dataset.village}/${td.dataset.position}`);
      out.openedHash = await page.evaluate(() => window.location.hash);
    }
    if (args.screenshot) await page.screenshot({ path: args.screenshot });
  } else if (scenario === 'ledger-filter') {
    await openLedger(args.hash || '');
    out.categories = await page.$$eval('#filter-category option', (os) => os.map((o) => o.value).filter(Boolean));
    out.steps = [];
    for (const step of args.steps) {
      await page.click('#filter-clear');
      await entriesSettled();
      for (const status of step.statuses || []) {
        await page.check(`#filter-statuses input[value="${status}"]`);
      }
      if (step.category) await page.selectOption('#filter-category', step.category);
      if (step.overdue) await page.check('#filter-overdue');
      await entriesSettled();
      const pages = [await entriesShown()];
      for (let i = 1; i < (step.pages || 1); i += 1) {
        await page.click('#entries .pager button[aria-label="下一页"]');
        await page.waitForFunction((off) => window.location.hash.includes(`off=${off}`), i * 50);
        await entriesSettled();
        pages.push(await entriesShown());
      }
      out.steps.push(pages);
    }
    if (args.open) {
      await page.click(`#entries-table tr[data-key="${args.open}"]`);
      await entryShown(args.open);
      out.opened = await entryPanel();
      out.openedHash = await page.evaluate(() => window.location.hash);
    }
    // The same view from its link alone, in a fresh page load.
    if (args.reload) {
      const hash = await page.evaluate(() => window.location.hash);
      await openLedger(hash);
      await entriesSettled();
      out.reloaded = await entriesShown();
      out.reloadedFilters = await page.evaluate(() => ({
        statuses: [...document.querySelectorAll('#filter-statuses input:checked')].map((b) => b.value),
        category: document.querySelector('#filter-category').value,
        overdue: document.querySelector('#filter-overdue').checked,
      }));
    }
  } else if (scenario === 'sign-in-as') {
    // Not signed in: the map sends the user to the sign-in page, which on the demo lists
    // one account per role; a click signs in and comes back to the map.
    Object.assign(out, await signInAs(args.user));
    await mapReady();
    out.title = await page.title();
    out.who = await text('#who-name');
    out.scope = await text('#who-scope');
    out.planHidden = await page.$eval('[data-view="plan"]', (b) => b.hidden);
    out.scopeHidden = await page.$eval('#scope-pick', (e) => e.hidden);
    out.ranked = await page.$$eval('#ranking-table tbody tr[data-code]', (rows) => rows.map((r) => r.dataset.code));
    out.indicators = await page.$$eval('#indicator option', (options) => options.map((o) => o.value));
    out.cookieSession = (await page.context().cookies()).some((c) => c.name === 'paicha_session' && c.httpOnly);
    if (args.village) {
      await page.evaluate((code) => { window.location.hash = `#area=${code}`; }, args.village);
      await page.waitForFunction(() => document.querySelector('#households-table, #no-personal'), null, { timeout: 30000 });
      out.villagePanel = await page.$eval('#ranking', (r) => ({
        personal: !!r.querySelector('#households-table'), refused: !!r.querySelector('#no-personal'),
      }));
    }
    await page.click('#sign-out');
    await page.waitForURL(/login\.html/, { timeout: 30000 });
    out.signedOut = page.url().replace(base, '');
  } else if (scenario === 'pick-area') {
    // A person holding several areas picks one as the map's top (范围).
    await signInAs(args.user);
    await mapReady();
    out.scopeHidden = await page.$eval('#scope-pick', (e) => e.hidden);
    out.scopeLabel = await page.$eval('#scope-pick', (e) => e.firstChild.textContent.trim());
    out.scopeOptions = await page.$$eval('#scope option', (os) => os.map((o) => ({ code: o.value, name: o.textContent })));
    out.before = await mapPanel();
    await page.selectOption('#scope', args.pick);
    await page.waitForFunction((code) => {
      const rows = [...document.querySelectorAll('#ranking-table tbody tr[data-code]')];
      return rows.length && rows.every((r) => r.dataset.code.startsWith(code));
    }, args.pick, { timeout: 30000 });
    await idle();
    out.after = await mapPanel();
    out.legendVillages = (await legend()).reduce((n, row) => n + Number(row.count.replace(/[^0-9]/g, '')), 0);
    // The link keeps the choice: the page loaded anew from it starts there.
    await page.goto('about:blank');
    await open(out.after.hash);
    await idle();
    out.reloaded = await mapPanel();
  } else if (scenario === 'admin-grants') {
    // An admin edits the grants of an account on 账号与审计: each step opens the
    // account's 授权 editor, changes it and saves.
    await signInAs('admin', '/admin.html');
    await adminReady();
    out.before = await grantsShown(args.user);
    out.steps = [];
    const indexOf = (where) => page.$$eval('#grant-rows tbody tr[data-index]', (rows, [area, role]) => rows
      .find((r) => r.dataset.area === area && (!role || r.dataset.role === role))?.dataset.index, [where.area, where.role || null]);
    for (const step of args.steps) {
      const seen = {};
      await page.click(`#user-table button[data-grants="${args.user}"]`);
      await page.waitForSelector('#grant-editor');
      seen.editorRows = await page.$$eval('#grant-rows tbody tr[data-index]', (rows) => rows.map((r) => r.dataset.area));
      if (step.sample) {
        // 第三方评估抽样: the evaluator's villages drawn from the editor.
        await page.fill('#sample-n', String(step.sample.villages));
        await page.selectOption('#sample-within', step.sample.within);
        await page.fill('#sample-seed', String(step.sample.seed));
        await page.click('#sample-draw');
        await adminSettled();
        await page.waitForFunction(() => !document.querySelector('#grant-editor'), null, { timeout: 30000 });
        seen.message = await text('#user-message');
        seen.grants = await grantsShown(args.user);
        out.steps.push(seen);
        continue;
      }
      if (step.outside) {
        // An area outside the admin's (as a stale list might offer): the API refuses the
        // save, the toast says why, and nothing is stored.
        expectedAnswers.push({ status: 400, method: 'PATCH', url: `/api/v1/users/${args.user}` });
        await page.evaluate((code) => {
          const option = document.createElement('option');
          option.value = code;
          option.textContent = code;
          document.querySelector('#grant-area').append(option);
        }, step.outside);
        await page.selectOption('#grant-area', step.outside);
        await page.click('#grant-add');
        await page.click('#grant-save');
        await adminSettled();
        await page.waitForFunction(() => !document.querySelector('#toast').hidden);
        seen.toast = await text('#toast');
        seen.editorKept = !!(await page.$('#grant-editor'));
        await page.click(`#grant-rows button[data-remove="${await indexOf({ area: step.outside })}"]`);
      }
      if (step.add) {
        await page.selectOption('#grant-role', step.add.role);
        await page.selectOption('#grant-area', step.add.area);
        if (step.add.department) await page.selectOption('#grant-dept', step.add.department);
        if (step.add.until) await page.fill('#grant-until', step.add.until);
        await page.click('#grant-add');
      }
      for (const change of step.until || []) {
        await page.fill(`#grant-rows input[data-until="${await indexOf(change)}"]`, change.until);
      }
      for (const gone of step.remove || []) {
        await page.click(`#grant-rows button[data-remove="${await indexOf(gone)}"]`);
      }
      await page.click('#grant-save');
      await adminSettled();
      await page.waitForFunction(() => !document.querySelector('#grant-editor'), null, { timeout: 30000 });
      seen.message = await text('#user-message');
      seen.grants = await grantsShown(args.user);
      out.steps.push(seen);
    }
  } else if (scenario === 'admin-audit') {
    // The audit log a page at a time: one account's lines, then 更早的记录.
    await signInAs('admin', '/admin.html');
    await adminReady();
    await page.fill('#audit-user', args.user);
    if (args.action) await page.selectOption('#audit-action', args.action);
    await page.click('#audit-form button[type="submit"]');
    await adminSettled();
    out.first = await auditShown();
    out.pages = [];
    while (!(await page.$eval('#audit-more', (b) => b.hidden)) && out.pages.length < 10) {
      await page.click('#audit-more');
      await adminSettled();
      out.pages.push(await auditShown());
    }
  } else if (scenario === 'imports') {
    // 数据导入: next month's export uploaded, its report read and committed; then a file
    // with an ID Excel ruined, whose report lists the row and whose commit stays off.
    await page.goto(`${base}/imports.html`);
    await page.waitForFunction(() => window.imports && (window.imports.ready || window.imports.failed), null, { timeout: 30000 });
    const failed = await page.evaluate(() => window.imports.failed);
    if (failed) throw new Error(`the page failed to start: ${failed}`);
    const settled = () => page.waitForFunction(() => window.imports.busy === 0 && window.imports.job
      && !['queued', 'checking', 'committing'].includes(window.imports.job.status), null, { timeout: 60000 });
    const shown = () => page.evaluate(() => ({
      title: document.querySelector('#job-title').textContent,
      status: document.querySelector('#job-status').textContent,
      counts: [...document.querySelectorAll('#job-counts tbody tr')].map((r) => [...r.cells].map((c) => c.textContent)),
      problemsTitle: document.querySelector('#job-problems-title').textContent,
      problems: [...document.querySelectorAll('#job-problems tbody tr')].slice(0, 5).map((r) => [...r.cells].map((c) => c.textContent)),
      commitDisabled: document.querySelector('#job-commit').disabled,
      xlsx: document.querySelector('#job-xlsx').getAttribute('href'),
      list: [...document.querySelectorAll('#import-table tbody tr')].map((r) => [...r.cells].map((c) => c.textContent)),
    }));
    const uploadOne = async (file) => {
      await page.selectOption('#kind', 'households');
      await page.setInputFiles('#files', file);
      await page.click('#upload');
      await settled();
      return shown();
    };
    out.checked = await uploadOne(args.files[0]);
    await page.click('#job-commit');
    await settled();
    out.committed = await shown();
    out.ruined = await uploadOne(args.files[1]);
    if (args.roll) {
      // A department's roll (民政 低保特困) through the same form: its kind, its report.
      await page.selectOption('#kind', 'roll');
      await page.selectOption('#roll', args.roll.kind);
      await page.setInputFiles('#files', args.roll.file);
      await page.click('#upload');
      await settled();
      out.roll = await shown();
    }
  } else if (scenario === 'ledger-entry') {
    await openLedger(args.hash);
    await entryShown(args.key);
    out.entry = await entryPanel();
  } else if (scenario === 'ledger-edit') {
    // An edit, then a stale edit: another user changes the entry through the API while
    // the form is open; the page must show who changed what, write nothing, and let
    // the user submit again.
    expectedAnswers.push({ status: 409, method: 'PATCH', url: args.path });
    await openLedger(args.hash);
    await entryShown(args.key);
    const before = await entryPanel();
    out.before = before;
    await page.fill('#f-notes', args.notes[0]);
    await page.click('#entry-save');
    await entryShown(args.key, before.version + 1);
    out.saved = await entryPanel();
    out.other = await api('PATCH', args.path, { version: before.version + 1, ...args.other });
    await page.fill('#f-notes', args.notes[1]);
    await page.click('#entry-save');
    await page.waitForFunction(() => !document.querySelector('#conflict').hidden && window.ledger.busy === 0);
    out.stale = await entryPanel();
    out.afterStale = (await api('GET', args.path)).body;
    await page.click('#conflict-reapply');
    await entryShown(args.key, before.version + 3);
    out.reapplied = await entryPanel();
    out.editor = await page.$eval('#editor', (i) => i.value);
  } else if (scenario === 'ledger-sign') {
    expectedAnswers.push({ status: 400, method: 'PATCH', url: args.path });
    await openLedger(args.hash);
    await entryShown(args.key);
    out.before = await entryPanel();
    await page.selectOption('#f-status', 'closed');
    await page.click('#entry-save');
    await page.waitForFunction(() => !document.querySelector('#err-status').hidden && window.ledger.busy === 0);
    out.refused = await entryPanel();
    // A signature is the signed-in person's: dating it signs it in their name.
    await page.fill('#f-secretary-at', args.secretary.at);
    await page.fill('#f-first_secretary-at', args.first_secretary.at);
    if (args.group_leader) {
      // The group leader signs today, with the button that fills in the date.
      await page.click('button[data-today="group_leader"]');
    }
    out.signerShown = await page.$eval('#f-secretary-who', (i) => i.value);
    await page.click('#entry-save');
    await entryShown(args.key, out.before.version + 1);
    out.signed = await entryPanel();
    out.cell = await page.$eval(`#matrix td[data-village="${args.key.split('/')[0]}"][data-position="${args.key.split('/')[1]}"]`,
      (td) => ({ status: td.dataset.status, color: getComputedStyle(td).backgroundColor }));
  } else if (scenario === 'ledger-import') {
    expectedAnswers.push({ status: 400, method: 'POST', url: '/import' });
    await openLedger(args.hash);
    await page.selectOption('#import-village', args.village);
    await page.setInputFiles('#import-file', args.bad);
    await page.click('#import-submit');
    await page.waitForSelector('#import-errors', { timeout: 30000 });
    out.message = await text('#import-message');
    out.rowErrors = await page.$$eval('#import-errors tbody tr', (trs) => trs.map((tr) => ({
      field: tr.dataset.field, reason: tr.dataset.reason, place: tr.cells[0].textContent, text: tr.cells[1].textContent,
    })));
    out.errorHead = await page.$$eval('#import-errors thead th', (ths) => ths.map((th) => th.textContent));
    await page.setInputFiles('#import-file', args.good);
    await page.click('#import-submit');
    await page.waitForSelector('#import-ok', { timeout: 30000 });
    await ledgerSettled();
    out.ok = { text: await text('#import-ok'), rows: await text('#import-rows'), changed: await text('#import-changed') };
    out.row = await page.$$eval(`#matrix tr[data-village="${args.village}"] td.cell`, (tds) => tds.map((td) => td.dataset.status));
  } else if (scenario === 'ledger-reports') {
    await openLedger(args.hash);
    if (args.key) await entryShown(args.key);
    out.links = await page.$$eval('a[data-report]', (as) => as.map((a) => ({
      href: a.getAttribute('href'), report: a.dataset.report, format: a.dataset.format,
      download: a.hasAttribute('download'), target: a.getAttribute('target'), text: a.textContent,
    })));
  } else if (scenario === 'ledger-units') {
    await openLedger(args.hash);
    await page.waitForFunction((id) => document.querySelector('#template')?.dataset.template === id, args.template);
    out.copyForm = !!(await page.$('#template-copy'));
    if (args.units) {
      for (const [position, unit] of Object.entries(args.units)) {
        // eslint-disable-next-line no-await-in-loop
        await page.fill(`#template-items input[data-position="${position}"]`, unit);
      }
      await page.click('#units-save');
      await page.waitForFunction(() => /已保存|未保存/.test(document.querySelector('#units-status')?.textContent || ''));
      await ledgerSettled();
      out.status = await text('#units-status');
    }
    if (args.copyId) {
      await page.fill('#copy-id', args.copyId);
      await page.click('#template-copy button[type="submit"]');
      await page.waitForFunction(() => !document.querySelector('#toast').hidden);
      out.toast = await text('#toast');
    }
    out.rows = await page.$$eval('#template-items tbody tr', (rows) => rows.map((r) => ({
      number: r.cells[0].textContent,
      unit: r.cells[3].querySelector('input')?.value ?? r.cells[3].textContent,
      editable: !!r.cells[3].querySelector('input'),
    })));
  } else if (scenario === 'ledger-nav') {
    await open(args.hash);
    await page.waitForSelector('#ledger-village-link');
    out.navHref = await page.$eval('#ledger-link', (a) => a.getAttribute('href'));
    out.navText = await text('#ledger-link');
    out.villageHref = await page.$eval('#ledger-village-link', (a) => a.getAttribute('href'));
    await idle();
    await Promise.all([page.waitForURL('**/ledger.html*'), page.click('#ledger-link')]);
    await page.waitForFunction(() => window.ledger && window.ledger.ready && window.ledger.busy === 0, null, { timeout: 30000 });
    out.landed = { path: await page.evaluate(() => window.location.pathname), title: await page.title(),
      campaign: await page.$eval('#campaign', (e) => e.value) };
    await openLedger(out.villageHref.replace(/^ledger\.html/, ''));
    out.fromVillage = { township: await page.$eval('#township', (e) => e.value),
      matrix: await page.$eval('#matrix', (e) => e.dataset.township) };
  } else {
    throw new Error(`unknown scenario ${scenario}`);
  }
} catch (e) {
  out.exception = String(e && e.stack ? e.stack : e);
}
out.errors = errors;
if (expectedAnswers.length) out.expected = expected;
await browser.close();
process.stdout.write(JSON.stringify(out));
