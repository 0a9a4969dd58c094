// 排查一张图: the county map for leaders, analysts and inspection groups.
//
// Data flow: the catalog, the TileJSON of our layers and the basemap list are read
// once; the map draws boundary tiles coloured by the class each feature carries for the
// chosen indicator; the side panel reads /api/v1/stats for the selected area (its
// figures and the ranking of its parts), /api/v1/households for a village's households,
// /api/v1/query for a drawn shape and /api/v1/quality for the location-quality view.
// Everything the user chose is kept in the URL (state.js).

import { session, showSignedIn, can } from './session.js';
import {
  getJson, postJson, unitOf, int, pct, esc, toast, downloadCsv, bboxOf, shortName, paintSwatches,
} from './api.js';
import { readState, writeState, parseView, formatView } from './state.js';
import * as layers from './layers.js';
import { Draw } from './draw.js';
import { Planner } from './plan.js';
import { Changes } from './changes.js';
import { Crosschecks } from './crosschecks.js';

const origin = window.location.origin;
const $ = (id) => document.getElementById(id);

const app = {
  state: readState(),
  catalog: null,
  byId: new Map(),
  categories: new Map(),
  top: null, // the area everything lies in: the county, or the city above several
  tops: [], // a person's own areas when they hold several and not the whole map (范围)
  version: '',
  areaCache: new Map(),
  stats: null, // the selected area's stats answer
  legendStats: null,
  quality: null,
  flagged: new Map(), // quality flag → promise of the flagged household numbers
  panelToken: 0,
};
window.paicha = { ready: false, app };

const PAGE = 50;
const QUALITY_BREAKS = [0.01, 0.03, 0.1, 0.3];

function indicator() {
  return app.byId.get(app.state.ind) || app.catalog.indicators[0];
}

const isLedger = (ind) => ind.unit === 'items';

function save() {
  writeState(app.state);
}

async function area(code) {
  if (!app.areaCache.has(code)) app.areaCache.set(code, getJson(`api/v1/areas/${code}`));
  return app.areaCache.get(code);
}

// ---------------------------------------------------------------- legend

function classLabels(ind) {
  const b = ind.breaks;
  const labels = [];
  for (let i = 0; i <= b.length; i += 1) {
    if (i === 0) labels.push(`< ${pct(b[0])}`);
    else if (i === b.length) labels.push(`≥ ${pct(b[i - 1])}`);
    else labels.push(`${pct(b[i - 1])} – ${pct(b[i])}`);
  }
  return labels;
}

function drawLegend(title, labels, colors, counts, noDataCount, unitName) {
  const rows = labels.map((label, i) => `<tr data-class="${i}"><td><span class="sw" data-swatch="${colors[i]}"></span></td>`
    + `<td>${esc(label)}</td><td class="num">${int(counts[i] || 0)} ${unitName}</td></tr>`);
  rows.push(`<tr data-class="none"><td><span class="sw" data-swatch="${app.catalog.no_data_color}"></span></td>`
    + `<td>无数据</td><td class="num">${int(noDataCount)} ${unitName}</td></tr>`);
  $('legend-classes').innerHTML = `<strong>${esc(title)}</strong><table>${rows.join('')}</table>`;
  paintSwatches($('legend-classes'));
}

/** The heat map's legend: the server's ramp (HEAT_STOPS, seen through the layer's
 * opacity), from low to high density, or from 0 to the top of the rate scale. */
function drawHeatLegend(ind, mode) {
  const el = $('legend-heat');
  const key = `${ind.id}/${mode}`;
  if (el.dataset.key === key) return;
  el.dataset.key = key;
  // Rates are coloured up to 1.5 × the top class break, at most 100% (src/api/tiles.rs).
  const top = Math.min((ind.breaks.at(-1) ?? 1) * 1.5, 1);
  const [title, low, high, note] = mode === 'rate'
    ? [`热力图：${ind.name_zh}占比`, '0%', `≥ ${pct(top)}`, '周边农户过少处不显示']
    : [`热力图：${ind.name_zh}户数密度`, '低', '高', '按当前缩放级别全图统一色阶'];
  el.innerHTML = `<strong>${esc(title)}</strong><div class="heat-ramp"></div>`
    + `<div class="ramp-ends"><span id="heat-low">${esc(low)}</span><span id="heat-high">${esc(high)}</span></div>`
    + `<p class="muted">${esc(note)}</p>`;
  const stops = layers.HEAT_STOPS.map(([t, [r, g, b, a]]) => `rgba(${r}, ${g}, ${b}, ${((a / 255) * 0.85).toFixed(3)}) ${t * 100}%`);
  el.querySelector('.heat-ramp').style.background = `linear-gradient(to right, ${stops.join(', ')})`;
}

/** Shows the legends of the layers on the map, and no empty box. */
function showLegendParts(heatShown) {
  const { state } = app;
  if (heatShown) drawHeatLegend(indicator(), state.heat);
  $('legend-heat').hidden = !heatShown;
  // The plan view's legend is its routes'; the others' is the choropleth's.
  $('legend-classes').hidden = state.view !== 'plan' && state.ch !== '1';
  $('legend').hidden = $('legend-classes').hidden && $('legend-heat').hidden;
}

async function updateLegend() {
  const ind = indicator();
  const lvl = app.state.lvl;
  const legendKey = () => `${app.top.code}/${indicator().id}/${app.state.lvl}`;
  const key = legendKey();
  if (app.legendStats?.key !== key) {
    const stats = await getJson(`api/v1/stats?within=${app.top.code}&indicators=${ind.id}&level=${lvl}&limit=100000`);
    // Another top area, indicator or unit chosen meanwhile: its own call draws.
    if (legendKey() !== key) return;
    app.legendStats = { key, stats };
  }
  const counts = new Array(app.catalog.palette.length).fill(0);
  let noData = 0;
  for (const row of app.legendStats.stats.rows) {
    const cls = row.values[ind.id]?.class;
    if (cls == null) noData += 1;
    else counts[cls] += 1;
  }
  drawLegend(`${ind.name_zh}（占比）`, classLabels(ind), app.catalog.palette, counts, noData, { village: '个村', county: '个县', city: '个市' }[lvl] || '个乡镇');
}

// ---------------------------------------------------------------- map styling

function applyIndicatorStyle() {
  const { map } = app;
  const ind = indicator();
  const color = layers.classColor(ind.id, app.catalog.palette, app.catalog.no_data_color);
  map.setPaintProperty('village-fill', 'fill-color', color);
  map.setPaintProperty('township-fill', 'fill-color', color);
  map.setPaintProperty('county-fill', 'fill-color', color);
  map.setPaintProperty('city-fill', 'fill-color', color);
  const pointInd = isLedger(ind) ? 'any_problem' : ind.id;
  map.setPaintProperty('households', 'circle-color', layers.householdColor(pointInd));
  window.paicha.qualityPoints = undefined;
}

function applyLayers() {
  const { map, state } = app;
  // The quality and changes views colour villages by their own figures.
  const quality = state.view === 'quality' || state.view === 'changes';
  const choropleth = state.ch === '1';
  layers.setVisible(map, 'village-fill', choropleth && (quality || state.lvl === 'village'));
  layers.setVisible(map, 'township-fill', choropleth && !quality && state.lvl === 'township');
  layers.setVisible(map, 'county-fill', choropleth && !quality && state.lvl === 'county');
  layers.setVisible(map, 'city-fill', choropleth && !quality && state.lvl === 'city');
  layers.setVisible(map, 'households', state.hh === '1');
  layers.setVisible(map, 'village-label', state.lbl === '1');
  layers.setVisible(map, 'township-label', state.lbl === '1');
  for (const id of ['plan-route', 'plan-stop', 'plan-start', 'plan-order']) {
    layers.setVisible(map, id, state.view === 'plan');
  }
  const ind = indicator();
  const heatAllowed = !quality && !isLedger(ind);
  $('layer-heat').disabled = !heatAllowed;
  $('layer-heat').title = heatAllowed ? '' : '清单类指标按村统计，没有热力图';
  layers.setHeat(map, origin, ind.id, heatAllowed ? state.heat : '', app.version);
  showLegendParts(heatAllowed && state.heat !== '');
  // The top area is the whole view, not a selection within it.
  const sel = state.area === app.top.code ? '' : state.area;
  map.setFilter('selected-village', ['==', ['get', 'code'], sel.length === 12 ? sel : '']);
  map.setFilter('selected-township', ['==', ['get', 'code'], sel.length === 9 ? sel : '']);
  map.setFilter('selected-county', ['==', ['get', 'code'], sel.length === 6 && sel !== app.top.code ? sel : '']);
  map.setFilter('selected-city', ['==', ['get', 'code'], sel.length === 4 && sel !== app.top.code ? sel : '']);
}

function syncControls() {
  const { state } = app;
  $('indicator').value = state.ind;
  $('level').value = state.lvl;
  $('layer-choropleth').checked = state.ch === '1';
  $('layer-heat').checked = state.heat !== '';
  $('heat-mode').value = state.heat || 'count';
  $('layer-households').checked = state.hh === '1';
  $('layer-labels').checked = state.lbl === '1';
  $('basemap').value = currentBasemap()?.id || 'none';
  $('flag').value = state.flag;
  document.querySelectorAll('#views button').forEach((b) => {
    b.setAttribute('aria-pressed', String(b.dataset.view === state.view));
  });
  const quality = state.view === 'quality';
  $('indicator').closest('label').hidden = quality;
  $('flag-pick').hidden = !quality;
}

// ---------------------------------------------------------------- panel: areas

async function crumbs() {
  const chain = [];
  let code = app.state.area;
  while (code && code.length > app.top.code.length) {
    // eslint-disable-next-line no-await-in-loop
    const feature = await area(code);
    chain.unshift({ code, name: feature.properties.name });
    code = feature.properties.parent_code;
  }
  chain.unshift({ code: topArea(), name: app.top.name });
  $('crumbs').innerHTML = chain.map((c, i) => (i === chain.length - 1
    ? `<strong>${esc(shortName(c.name))}</strong>`
    : `<a data-code="${c.code}">${esc(shortName(c.name))}</a>`)).join('<span class="sep">›</span>');
}

function figuresTable(total) {
  const rows = app.catalog.indicators
    .filter((ind) => total.values[ind.id])
    .map((ind) => {
      const v = total.values[ind.id];
      const mark = ind.id === app.state.ind ? ' class="link current"' : ' class="link"';
      return `<tr${mark} data-ind="${ind.id}"><td>${esc(ind.name_zh)}</td><td class="num">${int(v.count)} ${unitOf(ind)}</td>`
        + `<td class="num">${int(v.denominator)}</td><td class="num">${pct(v.rate)}</td></tr>`;
    });
  return `<table class="list" id="all-figures"><thead><tr><th>指标</th><th class="num">数量</th><th class="num">基数</th><th class="num">占比</th></tr></thead>`
    + `<tbody>${rows.join('')}</tbody></table>`;
}

async function showArea() {
  if (app.state.view !== 'indicators') return;
  const { state } = app;
  const ind = indicator();
  const within = state.area || app.top.code;
  // A later selection may finish first: only the latest one draws.
  const token = ++app.panelToken;
  const stats = await getJson(`api/v1/stats?within=${within}`);
  if (token !== app.panelToken) return;
  app.stats = stats;
  const total = stats.total;
  const v = total.values[ind.id] || {};
  $('area').innerHTML = `<h2 id="area-name">${esc(shortName(total.name))}</h2>`
    + `<p class="muted">${int(total.households)} 户 · 数据日期 ${esc(stats.data_date || '—')}</p>`
    + `<div class="figure" data-indicator="${ind.id}"><span class="big" id="area-count">${int(v.count)}</span>`
    + `<span>${unitOf(ind)} ${esc(ind.name_zh)}</span></div>`
    + `<p>占比 <strong id="area-rate">${pct(v.rate)}</strong>（基数 <span id="area-denominator">${int(v.denominator)}</span>：${esc(ind.denominator.replace(/\s*\(.*\)\s*$/, ''))}）</p>`
    + `<details><summary>全部指标</summary>${figuresTable(total)}</details>`
    + '<div id="area-trend"></div>';
  // Once an office has imported a second version: the indicator over every version.
  // (Ledger items and GPS checks are not compared between versions.)
  if (!isLedger(ind) && !ind.id.startsWith('gps_')) {
    app.changes.areaTrend($('area-trend'), within, ind, () => token === app.panelToken)
      .catch((e) => toast(e.message));
  }
  await crumbs();
  if (token !== app.panelToken) return;
  if (within.length === 12 && can(app.who, 'personal')) await showHouseholds(0);
  else if (within.length === 12) $('ranking').innerHTML = '<p class="muted" id="no-personal">本岗位不查看农户个人信息。</p>';
  else await showRanking(token);
}

/** Rows ranked as the API ranks them (sort=ID&order=desc): highest rate first, no data
 * last, ties in code order; so the exports, which ask the API, list them as shown. */
function ranked(rows, id) {
  const rate = (r) => r.values[id]?.rate ?? null;
  return [...rows].sort((a, b) => {
    const [x, y] = [rate(a), rate(b)];
    if (x === null || y === null) {
      if (x !== y) return x === null ? 1 : -1;
    } else if (x !== y) return y - x;
    return a.code < b.code ? -1 : Number(a.code > b.code);
  });
}

async function showRanking(token) {
  const ind = indicator();
  const { stats } = app;
  const within = app.state.area || app.top.code;
  // At the county: its townships, or every village of the county (按村).
  const county = within.length === 6;
  const allVillages = county && app.state.rk === 'village';
  let rows;
  let level = stats.level;
  const townshipNames = new Map();
  if (allVillages) {
    const answer = await getJson(`api/v1/stats?within=${within}&level=village&indicators=${ind.id}&sort=${ind.id}&order=desc`);
    if (token !== app.panelToken) return;
    rows = answer.rows;
    level = 'village';
    for (const t of stats.rows) townshipNames.set(t.code, t.name);
  } else {
    rows = ranked(stats.rows, ind.id);
  }
  const childName = { city: '市', county: '县（市、区）', township: '乡镇' }[level] || '村';
  const body = rows.map((row, i) => {
    const v = row.values[ind.id] || {};
    const township = row.code.slice(0, 9);
    return `<tr class="link" data-code="${row.code}"${allVillages ? ` data-township="${township}"` : ''}><td class="num">${i + 1}</td><td>${esc(shortName(row.name))}</td>`
      + (allVillages ? `<td>${esc(townshipNames.get(township) || '')}</td>` : '')
      + `<td class="num">${int(v.count)}</td><td class="num">${int(v.denominator)}</td><td class="num">${pct(v.rate)}</td></tr>`;
  }).join('');
  // The exports ask for the same ranking: the rows in the order shown.
  const q = `within=${within}&level=${level}&sort=${ind.id}&order=desc`;
  const toggle = county
    ? `<div class="seg" role="group" aria-label="排名单位"><button type="button" data-rank="" aria-pressed="${!allVillages}">按乡镇</button>`
      + `<button type="button" data-rank="village" aria-pressed="${allVillages}">按村</button></div>`
    : '';
  $('ranking').innerHTML = `<h3>${allVillages ? '全县各村' : `各${childName}`}排名：${esc(ind.name_zh)}</h3>${toggle}`
    + `<p class="exports">导出（全部指标，按排名）：<a href="api/v1/stats?${q}&format=csv" download>CSV</a>`
    + `<a href="api/v1/stats?${q}&format=xlsx" download>Excel</a>`
    + `<a href="api/v1/maps/${ind.id}.png?within=${within}&level=${level}" target="_blank">专题图</a></p>`
    + briefingLinks(within)
    + `<table class="list" id="ranking-table"><thead><tr><th class="num">序</th><th>${childName}</th>${allVillages ? '<th>乡镇</th>' : ''}`
    + `<th class="num">${unitOf(ind) || '数量'}</th><th class="num">基数</th><th class="num">占比</th></tr></thead><tbody>${body}</tbody></table>`;
}

/** A selected township's briefing pack (简报): its PDF, and the printable page. */
function briefingLinks(within) {
  if (!/^\d{9}$/.test(within)) return '';
  const base = `api/v1/briefings/${within}`;
  return `<p class="exports" id="briefing">乡镇简报：<a href="${base}?format=pdf" download>下载简报 PDF</a>`
    + `<a href="${base}?format=html" target="_blank" rel="noopener">打印版</a></p>`;
}

function householdRow(h) {
  const failed = h.failed.filter((f) => f.id !== 'any_problem')
    .map((f) => `<li>${esc(f.name_zh)}：${esc(f.reasons.join('；'))}</li>`).join('');
  return `<tr class="link" data-household="${h.household_no}"><td>${esc(h.head_name)}</td>`
    + `<td>${esc(app.categories.get(h.category) || h.category || '')}</td><td class="num">${h.members}</td>`
    + `<td><ul class="reasons">${failed}</ul></td></tr>`;
}

async function showHouseholds(offset) {
  const ind = indicator();
  // A village user's map starts at their village: no area chosen is their village.
  const code = app.state.area || app.top.code;
  if (isLedger(ind)) {
    $('ranking').innerHTML = `<p class="muted">${esc(ind.name_zh)}按村统计（整改台账），见 <a id="ledger-village-link" href="ledger.html#t=${code.slice(0, 9)}" target="_blank">督查台账</a>。</p>`;
    return;
  }
  const page = await getJson(`api/v1/households?within=${code}&indicator=${ind.id}&limit=${PAGE}&offset=${offset}`);
  const last = Math.min(offset + PAGE, page.total);
  $('ranking').innerHTML = `<h3>${esc(ind.name_zh)}的农户（${int(page.total)} 户，姓名已脱敏）</h3>`
    + `<p class="exports" id="households-exports">导出：${householdsLinks(code, ind.id)}</p>`
    + `<table class="list" id="households-table"><thead><tr><th>户主</th><th>类型</th><th class="num">人口</th><th>问题</th></tr></thead>`
    + `<tbody>${page.items.map(householdRow).join('')}</tbody></table>`
    + `<p class="pager">${page.total ? `${offset + 1}–${last}` : '0'} / ${int(page.total)}`
    + ` <button type="button" data-page="${offset - PAGE}" ${offset === 0 ? 'disabled' : ''}>上一页</button>`
    + `<button type="button" data-page="${offset + PAGE}" ${last >= page.total ? 'disabled' : ''}>下一页</button></p>`;
}

/** The server writes the households file: every row (not just this page), XLSX with
 * text cells so that 18-digit numbers keep every digit, or CSV for other tools. */
function householdsLinks(code, id) {
  const base = `api/v1/households?within=${encodeURIComponent(code)}&indicator=${encodeURIComponent(id)}`;
  return `<a href="${base}&format=xlsx" download>Excel（推荐）</a> <a href="${base}&format=csv" download>CSV</a>`;
}

// ---------------------------------------------------------------- the top area (范围)

/** The areas a person holds today, none lying inside another, in code order: each can
 * be the top of the map. The server keeps to the same days (China time). */
function ownAreas(who) {
  const today = new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 10);
  const held = [...new Set(who.grants.filter((g) => !g.until || g.until >= today).map((g) => g.area))];
  return held.filter((c) => !held.some((o) => o !== c && c.startsWith(o))).sort();
}

/** The person's own area `code` lies in (a link's area), else their first. */
function topFor(code) {
  return app.tops.find((t) => code && code.startsWith(t.code)) || app.tops[0];
}

/** The URL's `area` for the top itself: none for the first of the person's areas (or the
 * whole map), the top's code for another, so that a link keeps the choice. */
function topArea() {
  return app.tops.length > 1 && app.top.code !== app.tops[0].code ? app.top.code : '';
}

/** Names the top area in the header and the page title. */
function showTop() {
  $('county').textContent = `${app.top.name} · 脱贫质量排查一张图`;
  document.title = `排查 · ${app.top.name}一张图`;
}

/** Makes `own` the top of every view; what was read for the last one is dropped. */
function useTop(own) {
  app.top = own;
  app.legendStats = null;
  app.quality = null;
  app.flagged.clear();
  window.paicha.qualityPoints = undefined;
  $('scope').value = own.code;
  showTop();
}

/** 范围 chosen: the map fits that area; legend, figures and ranking are within it. */
async function pickTop(code) {
  const own = app.tops.find((t) => t.code === code);
  if (!own) return;
  useTop(own);
  app.state.area = topArea();
  save();
  const feature = await area(own.code);
  const b = bboxOf(feature.geometry);
  app.map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: viewPadding(), duration: 600, maxZoom: 14 });
  await setView(app.state.view);
}

// ---------------------------------------------------------------- selection

async function select(code, { fly = true } = {}) {
  app.state.area = code;
  // Townships coloured while the panel ranks a township's villages would not match:
  // drilling into a township colours its villages, as the panel ranks them.
  // The same for a city's counties: drilling into a county colours its townships; and
  // for a province's cities: drilling into a city colours its counties.
  const depth = { city: 4, county: 6, township: 9 }[app.state.lvl];
  const recolour = depth && code.length >= depth && code !== app.top.code && app.state.view === 'indicators';
  if (recolour) {
    app.state.lvl = childLevel(code);
    $('level').value = app.state.lvl;
  }
  save();
  applyLayers();
  if (fly) {
    const feature = await area(code || app.top.code);
    const b = bboxOf(feature.geometry);
    app.map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: viewPadding(), duration: 600, maxZoom: 14 });
  }
  await Promise.all([recolour ? updateLegend() : null, refreshPanel()]);
}

/** The unit an area's choropleth is drawn in: its children's level. */
function childLevel(code) {
  if (code.length >= 9) return 'village';
  return code.length >= 6 ? 'township' : 'county';
}

/** The map's padding when it fits an area: clear of the boxes over its left side and of
 * the controls on its right, so that no part of the area is hidden under them. */
function viewPadding() {
  const map = $('map').getBoundingClientRect();
  const right = Math.max(...['tools', 'legend'].map((id) => $(id).getBoundingClientRect().right));
  return { top: 20, bottom: 30, left: Math.max(20, Math.round(right - map.left + 16)), right: 56 };
}

async function refreshPanel() {
  try {
    if (app.state.view === 'indicators') await showArea();
    else if (app.state.view === 'quality') await showQuality();
    else if (app.state.view === 'changes') await app.changes.show(indicator());
    else if (app.state.view === 'crosschecks') await app.crosschecks.show();
  } catch (e) {
    toast(e.message);
  }
}

// ---------------------------------------------------------------- drawn shapes

async function queryShape(body) {
  const answer = await postJson('api/v1/query', body);
  app.drawn = { body, answer };
  window.paicha.lastQuery = { body, answer };
  const ind = indicator();
  const shown = app.catalog.indicators.filter((i) => answer.totals[i.id]);
  const kind = { bbox: '矩形', circle: '圆形', polygon: '多边形' }[answer.shape.kind] || answer.shape.kind;
  const totals = shown.map((i) => {
    const v = answer.totals[i.id];
    return `<tr data-ind="${i.id}"${i.id === ind.id ? ' class="current"' : ''}><td>${esc(i.name_zh)}</td><td class="num">${int(v.count)} ${unitOf(i)}</td>`
      + `<td class="num">${int(v.denominator)}</td><td class="num">${pct(v.rate)}</td></tr>`;
  }).join('');
  const villages = answer.villages.map((v) => `<tr class="link" data-code="${v.code}"><td>${esc(shortName(v.name))}</td><td>${esc(v.township_name)}</td>`
    + `<td class="num">${pct(v.share)}</td><td class="num">${int(v.households)}</td>`
    + `<td class="num">${int(v.values[ind.id]?.count)}</td></tr>`).join('');
  $('drawn').hidden = false;
  $('drawn').innerHTML = `<h2>圈选统计 <small class="muted">${kind}，${answer.shape.area_km2.toFixed(2)} km²</small></h2>`
    + `<p>圈内 <strong id="drawn-households">${int(answer.households)}</strong> 户；${esc(ind.name_zh)} `
    + `<strong id="drawn-count">${int(answer.totals[ind.id]?.count)}</strong> ${unitOf(ind)}，占比 <strong id="drawn-rate">${pct(answer.totals[ind.id]?.rate)}</strong></p>`
    + `<p class="exports"><button type="button" id="drawn-csv">导出 CSV</button><button type="button" id="drawn-close">关闭</button></p>`
    + `<table class="list" id="drawn-totals"><thead><tr><th>指标</th><th class="num">数量</th><th class="num">基数</th><th class="num">占比</th></tr></thead><tbody>${totals}</tbody></table>`
    + `<h3>涉及的村（${answer.villages.length}）</h3><table class="list" id="drawn-villages"><thead><tr><th>村</th><th>乡镇</th><th class="num">面积占比</th><th class="num">圈内户数</th><th class="num">${esc(ind.name_zh)}</th></tr></thead><tbody>${villages}</tbody></table>`;
  $('drawn').scrollIntoView({ behavior: 'smooth' });
}

/**
 * A share as the server's CSV writes it: a percentage with 4 decimals (26.9388). The
 * server rounds an exact tie (0.78125) to even, where toFixed rounds it up, so ties are
 * read from the exact decimal expansion and settled the server's way.
 */
const percent4 = (rate) => {
  if (rate == null) return '';
  const x = rate * 100;
  const exact = x.toFixed(100);
  const dot = exact.indexOf('.');
  const kept = exact.slice(0, dot + 5);
  if (/^50*$/.test(exact.slice(dot + 5)) && Number(kept.at(-1)) % 2 === 0) return kept;
  return x.toFixed(4);
};

function exportDrawn() {
  const { answer } = app.drawn;
  const shown = app.catalog.indicators.filter((i) => answer.totals[i.id]);
  // The headings of the server's CSV (/api/v1/stats?format=csv): 名称（户）, ·分母, ·比例(%).
  const cells = (v) => shown.flatMap((i) => [v[i.id]?.count ?? '', v[i.id]?.denominator ?? '', percent4(v[i.id]?.rate)]);
  const rows = [['范围', '村代码', '乡镇', '面积占比(%)', '户数',
    ...shown.flatMap((i) => [`${i.name_zh}（${unitOf(i)}）`, `${i.name_zh}·分母`, `${i.name_zh}·比例(%)`])]];
  rows.push(['圈选合计', '', '', '', answer.households, ...cells(answer.totals)]);
  for (const v of answer.villages) {
    rows.push([v.name, v.code, v.township_name, percent4(v.share), v.households, ...cells(v.values)]);
  }
  downloadCsv('圈选统计.csv', rows);
}

// ---------------------------------------------------------------- location quality

function qualityShare(v, flag) {
  const n = v.flags[flag] || 0;
  return v.households ? n / v.households : null;
}

const CRS_NAMES = { wgs84: 'WGS-84', cgcs2000: 'CGCS2000', gcj02: 'GCJ-02（火星坐标）', bd09: 'BD-09（百度坐标）' };

/** A village's or township's short name, from the county's quality answer. */
function qualityName(code) {
  if (!code) return '未知';
  const q = app.quality;
  const found = q?.villages.find((v) => v.code === code) || q?.townships.find((t) => t.code === code);
  return shortName(found?.name || code);
}

/** The evidence of a flagged household, as HTML: why each flag was raised, in the API's
 * figures (where the position lies, how far, how many share it …), and the recorded
 * position. */
function flagEvidence(h) {
  const metres = (d) => (d == null ? '距离不详' : `约 ${int(Math.round(d))} 米`);
  const at = (p) => `${p[0].toFixed(6)}, ${p[1].toFixed(6)}`;
  const one = (f) => {
    switch (f.code) {
      case 'no_gps': return '没有可用坐标';
      case 'outside_county': return `在县域外，距最近的${qualityName(f.nearest_village)}${metres(f.distance_m)}`;
      case 'outside_village': return `定位在${f.found_village ? qualityName(f.found_village) : '县内未知村'}`
        + `${f.found_township ? `（${qualityName(f.found_township)}）` : ''}，距登记村边界${metres(f.distance_m)}`;
      case 'duplicate': return `与另外 ${int(f.group_size - 1)} 户坐标完全相同`;
      case 'swapped': return `经纬度对调后为 ${at(f.swapped)}，位于${qualityName(f.found_village)}`;
      case 'coarse': return `坐标只有 ${f.decimals} 位小数`;
      case 'offset': return `实为${CRS_NAMES[f.crs] || f.crs}坐标（按${f.level === 'village' ? '本村' : '本乡镇'}判定），纠正后 ${at(f.corrected)}`;
      default: return '';
    }
  };
  const lines = h.flags.map((f) => esc((h.flags.length > 1 ? `${f.label}：` : '') + one(f)));
  if (h.recorded) {
    lines.push(`<span class="muted">记录坐标 ${esc(at([h.recorded.lon, h.recorded.lat]))}（${esc(CRS_NAMES[h.recorded.crs] || h.recorded.crs)}）</span>`);
  }
  return lines.join('<br>');
}

/** The household numbers flagged with `flag` in the county, read once per flag. */
function flaggedHouseholds(flag) {
  if (!app.flagged.has(flag)) {
    const read = (async () => {
      const nos = [];
      // At most 20,000 points: beyond that the map would be red anyway.
      for (let offset = 0; offset < 20000; offset += 1000) {
        // eslint-disable-next-line no-await-in-loop
        const page = await getJson(`api/v1/quality/households?within=${app.top.code}&flag=${flag}&limit=1000&offset=${offset}`);
        nos.push(...page.items.map((h) => h.household_no));
        if (offset + 1000 >= page.total) break;
      }
      return nos;
    })();
    read.catch(() => app.flagged.delete(flag));
    app.flagged.set(flag, read);
  }
  return app.flagged.get(flag);
}

/** In the 定位质量 view household points are red when flagged with the chosen flag.
 * The tiles do not carry the flags: the flagged households are read when the points show
 * (from zoom 12). */
async function paintQualityPoints() {
  const { map, state } = app;
  // Without personal data the points are cells: there is nothing to colour.
  if (state.view !== 'quality' || !can(app.who, 'personal')) return;
  const flag = state.flag;
  if (window.paicha.qualityPoints === flag) return;
  map.setPaintProperty('households', 'circle-color', layers.PASSING);
  window.paicha.qualityPoints = undefined;
  if (map.getZoom() < 12) return;
  const nos = await flaggedHouseholds(flag);
  if (state.view !== 'quality' || state.flag !== flag) return;
  map.setPaintProperty('households', 'circle-color', layers.householdSetColor(nos));
  window.paicha.qualityPoints = flag;
}

async function showQuality() {
  if (!app.quality) app.quality = await getJson(`api/v1/quality?within=${app.top.code}`);
  const q = app.quality;
  const flag = app.state.flag;
  const label = q.flags.find((f) => f.code === flag)?.label || flag;
  const colors = {};
  const counts = new Array(app.catalog.palette.length).fill(0);
  let noData = 0;
  for (const v of q.villages) {
    const share = qualityShare(v, flag);
    if (share == null) { noData += 1; continue; }
    let cls = QUALITY_BREAKS.findIndex((b) => share < b);
    if (cls < 0) cls = QUALITY_BREAKS.length;
    counts[cls] += 1;
    colors[v.code] = app.catalog.palette[cls];
  }
  app.map.setPaintProperty('village-fill', 'fill-color', layers.codeColor(colors, app.catalog.no_data_color));
  const labels = QUALITY_BREAKS.map((b, i) => (i === 0 ? `< ${pct(b)}` : `${pct(QUALITY_BREAKS[i - 1])} – ${pct(b)}`));
  labels.push(`≥ ${pct(QUALITY_BREAKS.at(-1))}`);
  drawLegend(`定位问题：${label}（占户数）`, labels, app.catalog.palette, counts, noData, '个村');
  const code = app.state.area;
  // A later selection may finish first: only the latest one draws.
  const token = ++app.panelToken;
  paintQualityPoints().catch((e) => toast(e.message));
  // The selected area's own figures: the county's, a township's or a village's.
  const own = code ? await getJson(`api/v1/quality?within=${code}`) : q;
  if (token !== app.panelToken) return;
  const flagTotals = own.flags.map((f) => `<tr class="link${f.code === flag ? ' current' : ''}" data-flag="${f.code}"><td>${esc(f.label)}</td><td class="num">${int(f.count)}</td></tr>`).join('');
  $('area').innerHTML = `<h2>定位质量：${esc(shortName(own.name))} <small class="muted">督查第7项：每户GPS定位</small></h2>`
    + `<p><span id="quality-households-total">${int(own.households)}</span> 户，已定位 <span id="quality-located">${int(own.located)}</span> 户。</p>`
    + `<table class="list" id="quality-flags"><thead><tr><th>问题</th><th class="num">户数</th></tr></thead><tbody>${flagTotals}</tbody></table>`;
  await crumbs();
  if (token !== app.panelToken) return;
  if (code.length === 12 && can(app.who, 'personal')) {
    const page = await getJson(`api/v1/quality/households?within=${code}&flag=${flag}&limit=200`);
    if (token !== app.panelToken) return;
    const rows = page.items.map((h) => `<tr data-household="${esc(h.household_no)}"><td>${esc(h.head_name)}</td><td>${esc(h.head_id_number)}</td>`
      + `<td>${h.flags.map((f) => esc(f.label)).join('、')}</td><td class="evidence">${flagEvidence(h)}</td></tr>`).join('');
    $('ranking').innerHTML = `<h3>${esc(label)}的农户（${int(page.total)} 户，已脱敏）</h3>`
      + `<table class="list" id="quality-households"><thead><tr><th>户主</th><th>身份证号</th><th>问题</th><th>依据</th></tr></thead><tbody>${rows}</tbody></table>`;
    return;
  }
  const villages = q.villages
    .filter((v) => !code || v.code.startsWith(code))
    .map((v) => ({ v, n: v.flags[flag] || 0, share: qualityShare(v, flag) }))
    .sort((a, b) => b.n - a.n || (b.share ?? 0) - (a.share ?? 0));
  const body = villages.map(({ v, n, share }, i) => `<tr class="link" data-code="${v.code}"><td class="num">${i + 1}</td><td>${esc(shortName(v.name))}</td>`
    + `<td class="num">${int(n)}</td><td class="num">${int(v.households)}</td><td class="num">${pct(share)}</td></tr>`).join('');
  $('ranking').innerHTML = `<h3>各村${esc(label)}户数</h3><table class="list" id="quality-villages"><thead><tr><th class="num">序</th><th>村</th>`
    + `<th class="num">户数</th><th class="num">总户数</th><th class="num">占比</th></tr></thead><tbody>${body}</tbody></table>`;
}

// ---------------------------------------------------------------- views

/** Whether a view colours the map by the chosen indicator (and draws its legend). */
function indicatorMap(view) {
  return view === 'indicators' || view === 'crosschecks';
}

/** Shows another indicator, as choosing it in the header does. */
async function chooseIndicator(id) {
  $('indicator').value = id;
  $('indicator').dispatchEvent(new Event('change'));
  await new Promise((resolve) => { setTimeout(resolve, 0); });
}

async function setView(view) {
  app.state.view = view;
  save();
  syncControls();
  $('drawn').hidden = true;
  $('planner').hidden = view !== 'plan';
  for (const id of ['area', 'ranking']) $(id).hidden = view === 'plan';
  $('crumbs').hidden = view === 'plan';
  applyLayers();
  if (view === 'indicators') {
    applyIndicatorStyle();
    await Promise.all([updateLegend(), refreshPanel()]);
  } else if (view === 'crosschecks') {
    const opening = app.crosschecks.openingIndicator(app.state.ind);
    if (opening !== app.state.ind) {
      app.state.ind = opening;
      save();
      syncControls();
      await refreshBoundaries().catch((e) => toast(e.message));
    }
    applyIndicatorStyle();
    await Promise.all([updateLegend(), refreshPanel()]);
  } else if (view === 'quality' || view === 'changes') {
    await refreshPanel();
  } else {
    applyIndicatorStyle();
    $('legend-classes').innerHTML = '<strong>走访路线</strong><p class="muted">生成计划后显示</p>';
    await app.planner.show();
  }
}

/** The indicator a view opens with: 存在问题户, or, for a department (行业部门) whose
 * catalog holds only its own indicators, the first of them. */
function defaultIndicator() {
  return app.byId.has('any_problem') ? 'any_problem' : app.catalog.indicators[0]?.id;
}

/** Applies the state a changed hash holds: a link pasted into an open tab, or the
 * browser's back button. */
async function applyHash() {
  const next = readState();
  if (!app.byId.has(next.ind)) next.ind = defaultIndicator();
  const prev = { ...app.state };
  if (Object.keys(next).every((key) => next[key] === prev[key])) return;
  Object.assign(app.state, next);
  // A link to a place in another of the person's areas: that area is the top.
  if (app.tops.length > 1 && topFor(next.area).code !== app.top.code) useTop(topFor(next.area));
  syncControls();
  if (next.base !== prev.base) applyBasemap();
  if (next.ind !== prev.ind) await refreshBoundaries().catch((e) => toast(e.message));
  const view = parseView(next.map);
  if (view) {
    if (next.map !== prev.map) app.map.jumpTo(view);
  } else if (next.area !== prev.area) {
    const feature = await area(next.area || app.top.code);
    const b = bboxOf(feature.geometry);
    app.map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: viewPadding(), duration: 600, maxZoom: 14 });
  }
  await setView(next.view);
}

// ---------------------------------------------------------------- map events

function featureText(f) {
  const p = f.properties;
  if (app.state.view === 'changes') return app.changes.tooltip(p.code, p.name, indicator());
  if (app.state.view === 'quality') {
    const v = app.quality?.villages.find((x) => x.code === p.code);
    const n = v ? v.flags[app.state.flag] || 0 : 0;
    return `<strong>${esc(shortName(p.name))}</strong><br>${esc($('flag').selectedOptions[0]?.text || '')} ${int(n)} 户 / ${int(v?.households)} 户`;
  }
  const ind = indicator();
  const count = p[`${ind.id}_count`];
  const denominator = p[`${ind.id}_denominator`];
  const rate = p[`${ind.id}_rate`];
  return `<strong>${esc(shortName(p.name))}</strong><br>${esc(ind.name_zh)}：${int(count)} ${unitOf(ind)} / ${int(denominator)}（${pct(rate)}）`;
}

function fillLayers() {
  return ['village-fill', 'township-fill', 'county-fill', 'city-fill'].filter((id) => app.map.getLayoutProperty(id, 'visibility') !== 'none');
}

/** A household's support and monitoring record, as far as its export said it. */
/** One year's measures: 2018年：产业帮扶（农业农村局 3,000 元）、健康帮扶（医保局）. */
function measureYearLine(y) {
  const items = y.items.map((m) => {
    const amount = m.amount == null ? '' : ` ${int(Math.round(m.amount))} 元`;
    return `${m.measure_zh}（${m.department}${amount}）`;
  });
  return `${y.year}年：${items.join('、')}`;
}

function supportLines(s) {
  if (!s) return '';
  const monitored = s.identified_month
    ? `识别监测 ${s.identified_month}${s.eliminated_month ? `，消除 ${s.eliminated_month}` : ''}${s.risk_elimination ? `（${s.risk_elimination}）` : ''}`
    : '';
  const lines = [
    s.risks.length ? `风险：${s.risks.join('、')}` : '',
    monitored,
    s.relief ? `低保/特困：${s.relief}` : '',
    s.sanitary_toilet == null ? '' : `卫生厕所：${s.sanitary_toilet ? '有' : '无'}`,
    s.aid_measures.length ? `帮扶措施：${s.aid_measures.join('、')}` : '',
    ...(s.measures || []).map(measureYearLine),
  ].filter(Boolean);
  return lines.length ? `<p class="support" id="household-support">${lines.map(esc).join('<br>')}</p>` : '';
}

const OUTCOMES = { visited: '已走访', not_found: '未遇', refused: '拒访' };

/** The inspection groups' visits to a household, newest first, with their findings. */
function visitLines(visits) {
  if (!visits || !visits.length) return '';
  const items = visits.slice(0, 5).map((v) => {
    const found = v.findings.map((f) => f.name || f.item).join('、');
    return `<li>${esc(v.date)} ${esc(v.group_name)} ${esc(OUTCOMES[v.outcome] || v.outcome)}${found ? `：${esc(found)}` : ''}${v.note ? `（${esc(v.note)}）` : ''}</li>`;
  }).join('');
  return `<p class="support">走访记录：</p><ul class="reasons" id="household-visits">${items}</ul>`;
}

async function householdPopup(feature, lngLat) {
  const no = feature.properties.household_no;
  const popup = new maplibregl.Popup({ maxWidth: '22rem' }).setLngLat(lngLat).setHTML('<p>正在读取…</p>').addTo(app.map);
  try {
    const h = await getJson(`api/v1/households/${no}`);
    const failed = h.failed.filter((f) => f.id !== 'any_problem')
      .map((f) => `<li>${esc(f.name_zh)}：${esc(f.reasons.join('；'))}</li>`).join('');
    popup.setHTML(`<h4>${esc(h.head_name)} <small>${esc(app.categories.get(h.category) || '')}</small></h4>`
      + `<p>${esc(h.township_name)} ${esc(shortName(h.village_name))} · ${h.members} 人 · 人均纯收入 ${int(Math.round(h.income_per_capita))} 元</p>`
      + (failed ? `<ul class="reasons">${failed}</ul>` : '<p>各项指标均达标</p>')
      + supportLines(h.support)
      + visitLines(h.visits));
  } catch (e) {
    popup.setHTML(`<p>${esc(e.message)}</p>`);
  }
}

function wireMap() {
  const { map } = app;
  const tooltip = $('tooltip');
  map.on('mousemove', (e) => {
    if (app.draw.active) { tooltip.hidden = true; return; }
    const hits = map.queryRenderedFeatures(e.point, { layers: [...fillLayers(), 'households', 'plan-stop'] });
    const point = hits.find((f) => f.layer.id === 'households' || f.layer.id === 'plan-stop');
    map.getCanvas().style.cursor = hits.length ? 'pointer' : '';
    const f = hits.find((h) => h.layer.id.endsWith('-fill'));
    if (!f || point) { tooltip.hidden = true; return; }
    tooltip.innerHTML = featureText(f);
    tooltip.style.left = `${e.point.x + 14}px`;
    tooltip.style.top = `${e.point.y + 14}px`;
    tooltip.hidden = false;
  });
  map.on('mouseout', () => { tooltip.hidden = true; });
  map.on('click', (e) => {
    if (app.draw.active) return;
    const hits = map.queryRenderedFeatures(e.point, { layers: [...fillLayers(), 'households', 'plan-stop'] });
    const stop = hits.find((f) => f.layer.id === 'plan-stop');
    if (stop) { app.planner.popup(stop, e.lngLat); return; }
    // Cells (no household number) open no popup: the role sees counts only.
    const household = hits.find((f) => f.layer.id === 'households' && f.properties.household_no);
    if (household) { householdPopup(household, e.lngLat); return; }
    const f = hits.find((h) => h.layer.id.endsWith('-fill'));
    // In the plan view a click may be picking the start; areas are chosen in the form.
    if (f && app.state.view !== 'plan') select(f.properties.code, { fly: false });
  });
  map.on('moveend', () => {
    app.state.map = formatView(map);
    save();
    if (app.state.view === 'quality') paintQualityPoints().catch((err) => toast(err.message));
  });
}

function wireControls() {
  const { state } = app;
  $('indicator').addEventListener('change', async (e) => {
    state.ind = e.target.value;
    save();
    await refreshBoundaries().catch((err) => toast(err.message));
    applyIndicatorStyle();
    applyLayers();
    await Promise.all([indicatorMap(state.view) ? updateLegend() : null, refreshPanel()]);
    if (app.drawn) await queryShape(app.drawn.body);
  });
  $('flag').addEventListener('change', (e) => { state.flag = e.target.value; save(); refreshPanel(); });
  $('level').addEventListener('change', async (e) => { state.lvl = e.target.value; save(); applyLayers(); await updateLegend(); });
  $('layer-choropleth').addEventListener('change', (e) => { state.ch = e.target.checked ? '1' : '0'; save(); applyLayers(); });
  const heat = () => { state.heat = $('layer-heat').checked ? $('heat-mode').value : ''; save(); applyLayers(); };
  $('layer-heat').addEventListener('change', heat);
  $('heat-mode').addEventListener('change', heat);
  $('layer-households').addEventListener('change', (e) => { state.hh = e.target.checked ? '1' : '0'; save(); applyLayers(); });
  $('layer-labels').addEventListener('change', (e) => { state.lbl = e.target.checked ? '1' : '0'; save(); applyLayers(); });
  $('basemap').addEventListener('change', (e) => { state.base = e.target.value; save(); applyBasemap(); });
  $('scope').addEventListener('change', (e) => pickTop(e.target.value).catch((err) => toast(err.message)));
  document.querySelectorAll('#views button').forEach((b) => b.addEventListener('click', () => setView(b.dataset.view)));
  // A link pasted into this tab (or the hash edited): show what it says.
  window.addEventListener('hashchange', () => applyHash().catch((err) => toast(err.message)));
  document.addEventListener('visibilitychange', async () => {
    if (document.visibilityState !== 'visible') return;
    try {
      if (await refreshBoundaries()) {
        await Promise.all([indicatorMap(app.state.view) ? updateLegend() : null, refreshPanel()]);
      }
    } catch (err) {
      toast(err.message);
    }
  });
  document.querySelectorAll('#draw [data-tool]').forEach((b) => b.addEventListener('click', () => {
    if (b.dataset.tool === 'clear') {
      app.draw.clear();
      app.drawn = null;
      $('drawn').hidden = true;
    } else app.draw.setTool(app.draw.tool === b.dataset.tool ? null : b.dataset.tool);
  }));
  $('crumbs').addEventListener('click', (e) => {
    const a = e.target.closest('a[data-code]');
    if (a) select(a.dataset.code);
  });
  $('panel').addEventListener('click', (e) => {
    const row = e.target.closest('tr[data-code]');
    if (row) { select(row.dataset.code); return; }
    const indRow = e.target.closest('tr[data-ind]');
    if (indRow && indRow.closest('#all-figures, #changes-figures')) {
      $('indicator').value = indRow.dataset.ind;
      $('indicator').dispatchEvent(new Event('change'));
      return;
    }
    const flagRow = e.target.closest('tr[data-flag]');
    if (flagRow) { $('flag').value = flagRow.dataset.flag; $('flag').dispatchEvent(new Event('change')); return; }
    const rankButton = e.target.closest('button[data-rank]');
    if (rankButton) {
      state.rk = rankButton.dataset.rank;
      save();
      refreshPanel();
      return;
    }
    const pageButton = e.target.closest('button[data-page]');
    if (pageButton) { showHouseholds(Number(pageButton.dataset.page)).catch((err) => toast(err.message)); return; }
    if (e.target.id === 'drawn-csv') exportDrawn();
    if (e.target.id === 'drawn-close') { $('drawn').hidden = true; }
  });
}

/** The basemap in use: the one chosen, else the first offline package dropped into
 * tiles/ (never an online one unless chosen), else none. */
function currentBasemap() {
  const { base } = app.state;
  if (base === 'none') return null;
  if (base) return app.basemaps.find((b) => b.id === base) || null;
  return app.basemaps.find((b) => b.source !== 'online') || null;
}

/** Boundary tiles carry the ledger indicators, and their URLs change with every ledger
 * edit (and data reload): when the page comes back into view or the indicator changes,
 * ask again and swap the tile URLs if they moved, so no stale choropleth stays up. */
async function refreshBoundaries() {
  let changed = false;
  for (const name of ['cities', 'counties', 'townships', 'villages']) {
    // eslint-disable-next-line no-await-in-loop
    const tj = await getJson(`tiles/${name}.json`);
    const source = app.map.getSource(name);
    const tiles = layers.absoluteTiles(origin, tj.tiles);
    if (source && JSON.stringify(source.tiles) !== JSON.stringify(tiles)) {
      source.setTiles(tiles);
      changed = true;
    }
  }
  if (changed) {
    app.legendStats = null;
    app.quality = null;
    app.flagged.clear();
    window.paicha.qualityPoints = undefined;
  }
  return changed;
}

function applyBasemap() {
  const chosen = currentBasemap();
  $('basemap').value = chosen ? chosen.id : 'none';
  layers.setBasemap(app.map, origin, chosen);
}

// ---------------------------------------------------------------- start

async function start() {
  const started = performance.now();
  const who = await session();
  app.who = who;
  showSignedIn($('who'), who);
  // What the roles cannot use is not offered: plans need field work in the area.
  if (!can(who, 'plans')) document.querySelector('[data-view="plan"]').hidden = true;
  // The phone visit sheet is the inspection groups' (and analysts').
  if (!can(who, 'visits')) $('visit-link').hidden = true;
  // A person holding several areas (an inspection group's townships, an evaluator's
  // villages) sees them one at a time (范围): the one a link names, else the first.
  const mine = ownAreas(who);
  const startCode = mine.find((c) => app.state.area.startsWith(c)) || mine[0];
  const qualityWithin = mine.length > 1 ? `?within=${startCode}` : '';
  const [catalog, townships, countyTiles, cityTiles, villages, households, counties, cities, provinces, basemaps, quality, labels] = await Promise.all([
    getJson('api/v1/indicators'),
    getJson('tiles/townships.json'),
    getJson('tiles/counties.json'),
    getJson('tiles/cities.json'),
    getJson('tiles/villages.json'),
    getJson('tiles/households.json'),
    getJson('api/v1/areas?level=county'),
    getJson('api/v1/areas?level=city'),
    getJson('api/v1/areas?level=province'),
    getJson('api/v1/basemaps'),
    getJson(`api/v1/quality${qualityWithin}`),
    getJson('api/v1/areas.geojson?geometry=label'),
  ]);
  // The map writes the names officials use (五副甲村, not 五副甲村民委员会).
  for (const f of labels.features) f.properties.name = shortName(f.properties.name);
  app.catalog = catalog;
  for (const ind of catalog.indicators) app.byId.set(ind.id, ind);
  for (const c of catalog.categories) app.categories.set(c.code, c.label);
  if (!app.byId.has(app.state.ind)) app.state.ind = defaultIndicator();
  // A city's several counties are seen from the city, a province's several cities from
  // the province, as the server's views default to.
  if (provinces.length === 1 && cities.length > 1) [app.top] = provinces;
  else if (cities.length === 1 && counties.length > 1) [app.top] = cities;
  else [app.top] = counties;
  if (!app.top) {
    // Not the whole county: one of the person's own areas is the top of every view.
    app.tops = labels.features.filter((f) => mine.includes(f.properties.code)).map((f) => ({ ...f.properties }));
    if (!app.tops.length) throw new Error('没有可查看的区域');
    app.top = topFor(app.state.area);
  }
  // The units below the top only: 按县 from a city or a province, 按市 from a province.
  if (app.top.level !== 'province') $('level').querySelector('option[value="city"]')?.remove();
  if (app.top.level !== 'city' && app.top.level !== 'province') $('level').querySelector('option[value="county"]')?.remove();
  // A unit the top has none of (a link made at the province, opened by a county's user).
  if (!$('level').querySelector(`option[value="${app.state.lvl}"]`)) app.state.lvl = 'village';
  app.version = villages.version;
  app.basemaps = basemaps.basemaps;
  app.quality = app.tops.length > 1 && app.top.code !== startCode ? null : quality;
  showTop();
  $('data-date').textContent = catalog.data_date ? `数据日期 ${catalog.data_date}` : '';
  if (app.tops.length > 1) {
    $('scope').innerHTML = app.tops.map((t) => `<option value="${esc(t.code)}">${esc(t.name)}</option>`).join('');
    $('scope').value = app.top.code;
    $('scope-pick').hidden = false;
  }

  const groups = new Map();
  for (const ind of catalog.indicators) {
    if (!groups.has(ind.group)) groups.set(ind.group, []);
    groups.get(ind.group).push(ind);
  }
  $('indicator').innerHTML = [...groups].map(([group, inds]) => `<optgroup label="${esc(group)}">`
    + inds.map((i) => `<option value="${i.id}">${esc(i.name_zh)}</option>`).join('') + '</optgroup>').join('');
  // 账账比对 once the catalog holds cross-checks (a department's holds its own only).
  document.querySelector('[data-view="crosschecks"]').hidden = !catalog.indicators.some((i) => i.id.startsWith('crosscheck_'));
  $('flag').innerHTML = quality.flags.map((f) => `<option value="${f.code}">${esc(f.label)}</option>`).join('');
  $('basemap').innerHTML = '<option value="none">无（仅边界）</option>'
    + app.basemaps.map((b) => `<option value="${esc(b.id)}">${esc(b.name)}${b.source === 'online' ? '（在线）' : ''}</option>`).join('');

  const view = parseView(app.state.map);
  // One of several areas on top: the map starts at it, not at all of them.
  const b = app.tops.length > 1 ? bboxOf((await area(app.top.code)).geometry) : townships.bounds;
  app.map = new maplibregl.Map({
    container: 'map',
    style: layers.baseStyle(origin, {
      cities: cityTiles, counties: countyTiles, townships, villages, households,
    }, labels),
    bounds: view ? undefined : [[b[0], b[1]], [b[2], b[3]]],
    fitBoundsOptions: { padding: viewPadding() },
    center: view?.center,
    zoom: view?.zoom,
    localIdeographFontFamily: '"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif',
    attributionControl: { compact: true },
    preserveDrawingBuffer: true,
  });
  const { map } = app;
  map.addControl(new maplibregl.NavigationControl(), 'top-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-right');
  await new Promise((resolve) => map.once('load', resolve));
  app.draw = new Draw(map, (body) => queryShape(body).catch((e) => toast(e.message)));
  app.planner = new Planner(app, { select });
  app.changes = new Changes(app, { drawLegend, crumbs });
  app.crosschecks = new Crosschecks(app, { crumbs, chooseIndicator });
  wireMap();
  wireControls();
  syncControls();
  if (currentBasemap()) applyBasemap();
  await setView(app.state.view);
  await new Promise((resolve) => (map.loaded() ? resolve() : map.once('idle', resolve)));
  window.paicha.readyMs = performance.now() - started;
  window.paicha.sinceNavigationMs = performance.now();
  window.paicha.ready = true;
  document.body.dataset.ready = 'true';
}

start().catch((e) => {
  toast(`地图无法加载：${e.message}`);
  window.paicha.failed = e.message;
});
