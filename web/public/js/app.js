// 排查一张图: the county map for leaders, analysts and inspection groups.
//
// Data flow: the catalog, the TileJSON of our layers and the basemap list are read
// once; the map draws boundary tiles coloured by the class each feature carries for the
// chosen indicator; the side panel reads /api/v1/stats for the selected area (its
// figures and the ranking of its parts), /api/v1/households for a village's households,
// /api/v1/query for a drawn shape and /api/v1/quality for the location-quality view.
// Everything the user chose is kept in the URL (state.js).

import { getJson, postJson, unitOf, int, pct, esc, toast, downloadCsv, bboxOf } from './api.js';
import { readState, writeState, parseView, formatView } from './state.js';
import * as layers from './layers.js';
import { Draw } from './draw.js';
import { Planner } from './plan.js';

const origin = window.location.origin;
const $ = (id) => document.getElementById(id);

const app = {
  state: readState(),
  catalog: null,
  byId: new Map(),
  categories: new Map(),
  county: null,
  version: '',
  areaCache: new Map(),
  stats: null, // the selected area's stats answer
  legendStats: null,
  quality: null,
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
  const rows = labels.map((label, i) => `<tr data-class="${i}"><td><span class="sw" style="background:${colors[i]}"></span></td>`
    + `<td>${esc(label)}</td><td class="num">${int(counts[i] || 0)} ${unitName}</td></tr>`);
  rows.push(`<tr data-class="none"><td><span class="sw" style="background:${app.catalog.no_data_color}"></span></td>`
    + `<td>无数据</td><td class="num">${int(noDataCount)} ${unitName}</td></tr>`);
  $('legend').innerHTML = `<strong>${esc(title)}</strong><table>${rows.join('')}</table>`;
}

async function updateLegend() {
  const ind = indicator();
  const lvl = app.state.lvl;
  const key = `${ind.id}/${lvl}`;
  if (app.legendStats?.key !== key) {
    const stats = await getJson(`api/v1/stats?indicators=${ind.id}&level=${lvl}&limit=100000`);
    app.legendStats = { key, stats };
  }
  const counts = new Array(app.catalog.palette.length).fill(0);
  let noData = 0;
  for (const row of app.legendStats.stats.rows) {
    const cls = row.values[ind.id]?.class;
    if (cls == null) noData += 1;
    else counts[cls] += 1;
  }
  drawLegend(`${ind.name_zh}（占比）`, classLabels(ind), app.catalog.palette, counts, noData, lvl === 'village' ? '个村' : '个乡镇');
}

// ---------------------------------------------------------------- map styling

function applyIndicatorStyle() {
  const { map } = app;
  const ind = indicator();
  const color = layers.classColor(ind.id, app.catalog.palette, app.catalog.no_data_color);
  map.setPaintProperty('village-fill', 'fill-color', color);
  map.setPaintProperty('township-fill', 'fill-color', color);
  const pointInd = isLedger(ind) ? 'any_problem' : ind.id;
  map.setPaintProperty('households', 'circle-color', layers.householdColor(pointInd));
}

function applyLayers() {
  const { map, state } = app;
  const quality = state.view === 'quality';
  const choropleth = state.ch === '1';
  layers.setVisible(map, 'village-fill', choropleth && (quality || state.lvl === 'village'));
  layers.setVisible(map, 'township-fill', choropleth && !quality && state.lvl === 'township');
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
  const sel = state.area;
  map.setFilter('selected-village', ['==', ['get', 'code'], sel.length === 12 ? sel : '']);
  map.setFilter('selected-township', ['==', ['get', 'code'], sel.length === 9 ? sel : '']);
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
  while (code && code.length > 6) {
    // eslint-disable-next-line no-await-in-loop
    const feature = await area(code);
    chain.unshift({ code, name: feature.properties.name });
    code = feature.properties.parent_code;
  }
  chain.unshift({ code: '', name: app.county.name });
  $('crumbs').innerHTML = chain.map((c, i) => (i === chain.length - 1
    ? `<strong>${esc(c.name)}</strong>`
    : `<a data-code="${c.code}">${esc(c.name)}</a>`)).join('<span class="sep">›</span>');
}

function figuresTable(total) {
  const rows = app.catalog.indicators
    .filter((ind) => total.values[ind.id])
    .map((ind) => {
      const v = total.values[ind.id];
      const mark = ind.id === app.state.ind ? ' class="link" style="font-weight:bold"' : ' class="link"';
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
  const within = state.area || app.county.code;
  // A later selection may finish first: only the latest one draws.
  const token = ++app.panelToken;
  const stats = await getJson(`api/v1/stats?within=${within}`);
  if (token !== app.panelToken) return;
  app.stats = stats;
  const total = stats.total;
  const v = total.values[ind.id] || {};
  $('area').innerHTML = `<h2 id="area-name">${esc(total.name)}</h2>`
    + `<p class="muted">${int(total.households)} 户 · 数据日期 ${esc(stats.data_date || '—')}</p>`
    + `<div class="figure" data-indicator="${ind.id}"><span class="big" id="area-count">${int(v.count)}</span>`
    + `<span>${unitOf(ind)} ${esc(ind.name_zh)}</span></div>`
    + `<p>占比 <strong id="area-rate">${pct(v.rate)}</strong>（基数 <span id="area-denominator">${int(v.denominator)}</span>：${esc(ind.denominator.replace(/\s*\(.*\)\s*$/, ''))}）</p>`
    + `<details><summary>全部指标</summary>${figuresTable(total)}</details>`;
  await crumbs();
  if (token !== app.panelToken) return;
  if (within.length === 12) await showHouseholds(0);
  else showRanking();
}

function showRanking() {
  const ind = indicator();
  const { stats } = app;
  const rows = [...stats.rows].sort((a, b) => (b.values[ind.id]?.rate ?? -1) - (a.values[ind.id]?.rate ?? -1));
  const within = app.state.area || app.county.code;
  const childName = stats.level === 'township' ? '乡镇' : '村';
  const body = rows.map((row, i) => {
    const v = row.values[ind.id] || {};
    return `<tr class="link" data-code="${row.code}"><td class="num">${i + 1}</td><td>${esc(row.name)}</td>`
      + `<td class="num">${int(v.count)}</td><td class="num">${int(v.denominator)}</td><td class="num">${pct(v.rate)}</td></tr>`;
  }).join('');
  const q = `within=${within}&level=${stats.level}`;
  $('ranking').innerHTML = `<h3>各${childName}排名：${esc(ind.name_zh)}</h3>`
    + `<p class="exports">导出（全部指标）：<a href="api/v1/stats?${q}&format=csv" download>CSV</a>`
    + `<a href="api/v1/stats?${q}&format=xlsx" download>Excel</a>`
    + `<a href="api/v1/maps/${ind.id}.png?within=${within}" target="_blank">专题图</a></p>`
    + `<table class="list" id="ranking-table"><thead><tr><th class="num">序</th><th>${childName}</th><th class="num">${unitOf(ind) || '数量'}</th>`
    + `<th class="num">基数</th><th class="num">占比</th></tr></thead><tbody>${body}</tbody></table>`;
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
  const code = app.state.area;
  if (isLedger(ind)) {
    $('ranking').innerHTML = `<p class="muted">${esc(ind.name_zh)}按村统计（整改台账），见 <a href="api/v1/campaigns" target="_blank">督查台账</a>。</p>`;
    return;
  }
  const page = await getJson(`api/v1/households?within=${code}&indicator=${ind.id}&limit=${PAGE}&offset=${offset}`);
  const last = Math.min(offset + PAGE, page.total);
  $('ranking').innerHTML = `<h3>${esc(ind.name_zh)}的农户（${int(page.total)} 户，姓名已脱敏）</h3>`
    + `<p class="exports"><button type="button" id="households-csv">导出 CSV</button></p>`
    + `<table class="list" id="households-table"><thead><tr><th>户主</th><th>类型</th><th class="num">人口</th><th>问题</th></tr></thead>`
    + `<tbody>${page.items.map(householdRow).join('')}</tbody></table>`
    + `<p class="pager">${page.total ? `${offset + 1}–${last}` : '0'} / ${int(page.total)}`
    + ` <button type="button" data-page="${offset - PAGE}" ${offset === 0 ? 'disabled' : ''}>上一页</button>`
    + `<button type="button" data-page="${offset + PAGE}" ${last >= page.total ? 'disabled' : ''}>下一页</button></p>`;
}

async function exportHouseholds() {
  const ind = indicator();
  const code = app.state.area;
  const rows = [['户编号', '村', '乡镇', '户主（脱敏）', '户类型', '人口', '人均纯收入（元）', '问题']];
  for (let offset = 0; ; offset += 1000) {
    // eslint-disable-next-line no-await-in-loop
    const page = await getJson(`api/v1/households?within=${code}&indicator=${ind.id}&limit=1000&offset=${offset}`);
    for (const h of page.items) {
      rows.push([h.household_no, h.village_name, h.township_name, h.head_name, app.categories.get(h.category) || '',
        h.members, h.income_per_capita.toFixed(2),
        h.failed.filter((f) => f.id !== 'any_problem').map((f) => `${f.name_zh}：${f.reasons.join('；')}`).join(' | ')]);
    }
    if (offset + 1000 >= page.total) break;
  }
  downloadCsv(`${code}-${ind.id}-农户.csv`, rows);
}

// ---------------------------------------------------------------- selection

async function select(code, { fly = true } = {}) {
  app.state.area = code;
  save();
  applyLayers();
  if (fly) {
    const feature = await area(code || app.county.code);
    const b = bboxOf(feature.geometry);
    app.map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 40, duration: 600, maxZoom: 14 });
  }
  await refreshPanel();
}

async function refreshPanel() {
  try {
    if (app.state.view === 'indicators') await showArea();
    else if (app.state.view === 'quality') await showQuality();
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
    return `<tr data-ind="${i.id}"${i.id === ind.id ? ' style="font-weight:bold"' : ''}><td>${esc(i.name_zh)}</td><td class="num">${int(v.count)} ${unitOf(i)}</td>`
      + `<td class="num">${int(v.denominator)}</td><td class="num">${pct(v.rate)}</td></tr>`;
  }).join('');
  const villages = answer.villages.map((v) => `<tr class="link" data-code="${v.code}"><td>${esc(v.name)}</td><td>${esc(v.township_name)}</td>`
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

function exportDrawn() {
  const { answer } = app.drawn;
  const shown = app.catalog.indicators.filter((i) => answer.totals[i.id]);
  const rows = [['范围', '村代码', '乡镇', '面积占比', '户数', ...shown.flatMap((i) => [`${i.name_zh}`, `${i.name_zh}占比`])]];
  rows.push(['圈选合计', '', '', '', answer.households, ...shown.flatMap((i) => [answer.totals[i.id].count, answer.totals[i.id].rate ?? ''])]);
  for (const v of answer.villages) {
    rows.push([v.name, v.code, v.township_name, v.share, v.households,
      ...shown.flatMap((i) => [v.values[i.id]?.count ?? '', v.values[i.id]?.rate ?? ''])]);
  }
  downloadCsv('圈选统计.csv', rows);
}

// ---------------------------------------------------------------- location quality

function qualityShare(v, flag) {
  const n = v.flags[flag] || 0;
  return v.households ? n / v.households : null;
}

async function showQuality() {
  if (!app.quality) app.quality = await getJson('api/v1/quality');
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
  app.map.setPaintProperty('households', 'circle-color',
    ['case', ['>', ['coalesce', ['get', 'gps_mismatch'], 0], 0], layers.ACCENT, '#7d8a96']);
  const labels = QUALITY_BREAKS.map((b, i) => (i === 0 ? `< ${pct(b)}` : `${pct(QUALITY_BREAKS[i - 1])} – ${pct(b)}`));
  labels.push(`≥ ${pct(QUALITY_BREAKS.at(-1))}`);
  drawLegend(`定位问题：${label}（占户数）`, labels, app.catalog.palette, counts, noData, '个村');
  const code = app.state.area;
  const flagTotals = q.flags.map((f) => `<tr class="link" data-flag="${f.code}"${f.code === flag ? ' style="font-weight:bold"' : ''}><td>${esc(f.label)}</td><td class="num">${int(f.count)}</td></tr>`).join('');
  $('area').innerHTML = `<h2>定位质量 <small class="muted">督查第7项：每户GPS定位</small></h2>`
    + `<p>${int(q.households)} 户，已定位 ${int(q.located)} 户。</p>`
    + `<table class="list" id="quality-flags"><thead><tr><th>问题</th><th class="num">户数</th></tr></thead><tbody>${flagTotals}</tbody></table>`;
  await crumbs();
  if (code.length === 12) {
    const page = await getJson(`api/v1/quality/households?within=${code}&flag=${flag}&limit=200`);
    const rows = page.items.map((h) => `<tr><td>${esc(h.head_name)}</td><td>${esc(h.head_id_number)}</td><td>${h.flags.map((f) => esc(f.label)).join('、')}</td></tr>`).join('');
    $('ranking').innerHTML = `<h3>${esc(label)}的农户（${int(page.total)} 户，已脱敏）</h3>`
      + `<table class="list" id="quality-households"><thead><tr><th>户主</th><th>身份证号</th><th>问题</th></tr></thead><tbody>${rows}</tbody></table>`;
    return;
  }
  const villages = q.villages
    .filter((v) => !code || v.code.startsWith(code))
    .map((v) => ({ v, n: v.flags[flag] || 0, share: qualityShare(v, flag) }))
    .sort((a, b) => b.n - a.n || (b.share ?? 0) - (a.share ?? 0));
  const body = villages.map(({ v, n, share }, i) => `<tr class="link" data-code="${v.code}"><td class="num">${i + 1}</td><td>${esc(v.name)}</td>`
    + `<td class="num">${int(n)}</td><td class="num">${int(v.households)}</td><td class="num">${pct(share)}</td></tr>`).join('');
  $('ranking').innerHTML = `<h3>各村${esc(label)}户数</h3><table class="list" id="quality-villages"><thead><tr><th class="num">序</th><th>村</th>`
    + `<th class="num">户数</th><th class="num">总户数</th><th class="num">占比</th></tr></thead><tbody>${body}</tbody></table>`;
}

// ---------------------------------------------------------------- views

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
  } else if (view === 'quality') {
    await refreshPanel();
  } else {
    applyIndicatorStyle();
    $('legend').innerHTML = '<strong>走访路线</strong><p class="muted">生成计划后显示</p>';
    await app.planner.show();
  }
}

// ---------------------------------------------------------------- map events

function featureText(f) {
  const p = f.properties;
  if (app.state.view === 'quality') {
    const v = app.quality?.villages.find((x) => x.code === p.code);
    const n = v ? v.flags[app.state.flag] || 0 : 0;
    return `<strong>${esc(p.name)}</strong><br>${esc($('flag').selectedOptions[0]?.text || '')} ${int(n)} 户 / ${int(v?.households)} 户`;
  }
  const ind = indicator();
  const count = p[`${ind.id}_count`];
  const denominator = p[`${ind.id}_denominator`];
  const rate = p[`${ind.id}_rate`];
  return `<strong>${esc(p.name)}</strong><br>${esc(ind.name_zh)}：${int(count)} ${unitOf(ind)} / ${int(denominator)}（${pct(rate)}）`;
}

function fillLayers() {
  return ['village-fill', 'township-fill'].filter((id) => app.map.getLayoutProperty(id, 'visibility') !== 'none');
}

async function householdPopup(feature, lngLat) {
  const no = feature.properties.household_no;
  const popup = new maplibregl.Popup({ maxWidth: '22rem' }).setLngLat(lngLat).setHTML('<p>正在读取…</p>').addTo(app.map);
  try {
    const h = await getJson(`api/v1/households/${no}`);
    const failed = h.failed.filter((f) => f.id !== 'any_problem')
      .map((f) => `<li>${esc(f.name_zh)}：${esc(f.reasons.join('；'))}</li>`).join('');
    popup.setHTML(`<h4>${esc(h.head_name)} <small>${esc(app.categories.get(h.category) || '')}</small></h4>`
      + `<p>${esc(h.township_name)} ${esc(h.village_name)} · ${h.members} 人 · 人均纯收入 ${int(Math.round(h.income_per_capita))} 元</p>`
      + (failed ? `<ul class="reasons">${failed}</ul>` : '<p>各项指标均达标</p>'));
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
    const household = hits.find((f) => f.layer.id === 'households');
    if (household) { householdPopup(household, e.lngLat); return; }
    const f = hits.find((h) => h.layer.id.endsWith('-fill'));
    // In the plan view a click may be picking the start; areas are chosen in the form.
    if (f && app.state.view !== 'plan') select(f.properties.code, { fly: false });
  });
  map.on('moveend', () => {
    app.state.map = formatView(map);
    save();
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
    await Promise.all([updateLegend(), refreshPanel()]);
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
  document.querySelectorAll('#views button').forEach((b) => b.addEventListener('click', () => setView(b.dataset.view)));
  document.addEventListener('visibilitychange', async () => {
    if (document.visibilityState !== 'visible') return;
    try {
      if (await refreshBoundaries()) {
        await Promise.all([app.state.view === 'indicators' ? updateLegend() : null, refreshPanel()]);
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
    if (indRow && indRow.closest('#all-figures')) {
      $('indicator').value = indRow.dataset.ind;
      $('indicator').dispatchEvent(new Event('change'));
      return;
    }
    const flagRow = e.target.closest('tr[data-flag]');
    if (flagRow) { $('flag').value = flagRow.dataset.flag; $('flag').dispatchEvent(new Event('change')); return; }
    const pageButton = e.target.closest('button[data-page]');
    if (pageButton) { showHouseholds(Number(pageButton.dataset.page)).catch((err) => toast(err.message)); return; }
    if (e.target.id === 'households-csv') exportHouseholds().catch((err) => toast(err.message));
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
  for (const name of ['townships', 'villages']) {
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
  const [catalog, townships, villages, households, counties, basemaps, quality] = await Promise.all([
    getJson('api/v1/indicators'),
    getJson('tiles/townships.json'),
    getJson('tiles/villages.json'),
    getJson('tiles/households.json'),
    getJson('api/v1/areas?level=county'),
    getJson('api/v1/basemaps'),
    getJson('api/v1/quality'),
  ]);
  app.catalog = catalog;
  for (const ind of catalog.indicators) app.byId.set(ind.id, ind);
  for (const c of catalog.categories) app.categories.set(c.code, c.label);
  if (!app.byId.has(app.state.ind)) app.state.ind = 'any_problem';
  [app.county] = counties;
  app.version = villages.version;
  app.basemaps = basemaps.basemaps;
  app.quality = quality;
  $('county').textContent = `${app.county.name} · 脱贫质量排查一张图`;
  $('data-date').textContent = catalog.data_date ? `数据日期 ${catalog.data_date}` : '';
  document.title = `排查 · ${app.county.name}一张图`;

  const groups = new Map();
  for (const ind of catalog.indicators) {
    if (!groups.has(ind.group)) groups.set(ind.group, []);
    groups.get(ind.group).push(ind);
  }
  $('indicator').innerHTML = [...groups].map(([group, inds]) => `<optgroup label="${esc(group)}">`
    + inds.map((i) => `<option value="${i.id}">${esc(i.name_zh)}</option>`).join('') + '</optgroup>').join('');
  $('flag').innerHTML = quality.flags.map((f) => `<option value="${f.code}">${esc(f.label)}</option>`).join('');
  $('basemap').innerHTML = '<option value="none">无（仅边界）</option>'
    + app.basemaps.map((b) => `<option value="${esc(b.id)}">${esc(b.name)}${b.source === 'online' ? '（在线）' : ''}</option>`).join('');

  const view = parseView(app.state.map);
  const b = townships.bounds;
  app.map = new maplibregl.Map({
    container: 'map',
    style: layers.baseStyle(origin, { townships, villages, households }),
    bounds: view ? undefined : [[b[0], b[1]], [b[2], b[3]]],
    fitBoundsOptions: { padding: 20 },
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
