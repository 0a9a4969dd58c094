// 数据变化: two versions of the household registry compared (动态管理). The villages are
// coloured by the change of the chosen indicator between the versions; the panel gives
// the selected area's households and persons added and removed, households entering and
// leaving monitoring, every indicator before and after, its parts ranked by the change,
// the trend of the indicator over every version, and (for those who may see personal
// data) the households that changed. Reads /api/v1/versions, /api/v1/changes,
// /api/v1/trend and /api/v1/changes/households.

import { getJson, int, pct, esc, shortName, unitOf } from './api.js';
import { can } from './session.js';
import * as layers from './layers.js';

const $ = (id) => document.getElementById(id);

/** Diverging classes of a count's change: fewer is green, more is red. */
export const CHANGE_CLASSES = [
  { label: '减少 5 及以上', color: '#1a9850', test: (d) => d <= -5 },
  { label: '减少 1–4', color: '#91cf60', test: (d) => d < 0 && d > -5 },
  { label: '无变化', color: '#f2f0e9', test: (d) => d === 0 },
  { label: '增加 1–4', color: '#fc8d59', test: (d) => d > 0 && d < 5 },
  { label: '增加 5 及以上', color: '#d73027', test: (d) => d >= 5 },
];

const CHANGE_ZH = {
  added: '新增', removed: '减少', category: '类别变化', risk: '风险状态变化', members: '人口变化',
};

const signed = (n) => (n > 0 ? `+${int(n)}` : int(n));
const signedPct = (r) => (r == null ? '—' : `${r > 0 ? '+' : ''}${(r * 100).toFixed(1)} 个百分点`);

/** The comparison view, over the map view's app (state, map, catalog, top). */
export class Changes {
  constructor(app, { drawLegend, crumbs }) {
    this.app = app;
    this.drawLegend = drawLegend;
    this.crumbs = crumbs;
    this.painted = new Map();
    this.versions = null;
    this.from = null;
    this.to = null;
    this.token = 0;
  }

  async loadVersions() {
    if (this.versions) return;
    this.versions = (await getJson('api/v1/versions')).versions;
    const n = this.versions.length;
    this.to = this.versions[n - 1]?.version ?? null;
    this.from = this.versions[Math.max(0, n - 2)]?.version ?? null;
  }

  /** The query naming the two versions compared. */
  pair() {
    return `from=${this.from}&to=${this.to}`;
  }

  /** Colours the villages of the top area by the change of the indicator. */
  async paint(ind) {
    const { app } = this;
    const body = await getJson(`api/v1/changes?${this.pair()}&within=${app.top.code}&level=village&indicators=${ind.id}`);
    const colors = {};
    this.painted = new Map();
    const counts = new Array(CHANGE_CLASSES.length).fill(0);
    let none = 0;
    for (const row of body.rows) {
      const v = row.values[ind.id];
      if (!v || (row.households_before === 0 && row.households_after === 0)) { none += 1; continue; }
      const cls = CHANGE_CLASSES.findIndex((c) => c.test(v.count_change));
      counts[cls] += 1;
      colors[row.code] = CHANGE_CLASSES[cls].color;
      this.painted.set(row.code, { name: row.name, v });
    }
    app.map.setPaintProperty('village-fill', 'fill-color', layers.codeColor(colors, app.catalog.no_data_color));
    this.drawLegend(`${ind.name_zh}变化（${unitOf(ind)}数）`, CHANGE_CLASSES.map((c) => c.label),
      CHANGE_CLASSES.map((c) => c.color), counts, none, '个村');
    window.paicha.changesPainted = { indicator: ind.id, colors, counts };
  }

  /** The panel and the map for the selected area. */
  async show(shown) {
    let ind = shown;
    const { app } = this;
    const token = ++this.token;
    await this.loadVersions();
    if (token !== this.token) return;
    const code = app.state.area || app.top.code;
    const options = this.versions.map((v) => `<option value="${v.version}">${esc(v.label)}</option>`).join('');
    const single = this.versions.length < 2;
    const head = `<h2>数据变化 <small class="muted">动态管理：两期户籍数据对比</small></h2>`
      + `<p class="pair"><label>对比 <select id="changes-from" aria-label="较早版本">${options}</select></label>`
      + `<label>与 <select id="changes-to" aria-label="较晚版本">${options}</select></label></p>`
      + (single ? '<p class="muted" id="changes-single">目前只有一期数据。在“数据导入”提交下一期户籍数据后，即可对比新增、减少、类别变化和各项指标的变化。</p>' : '');
    const body = await getJson(`api/v1/changes?${this.pair()}&within=${code}`);
    if (token !== this.token) return;
    // Ledger items and GPS checks are not compared between versions: 存在问题户 instead.
    if (!body.indicators.some((i) => i.id === ind.id)) {
      ind = app.byId.get('any_problem') || app.byId.get(body.indicators[0]?.id) || ind;
    }
    await this.paint(ind);
    if (token !== this.token) return;
    const h = body.households;
    const p = body.persons;
    const m = body.monitoring;
    const moves = body.categories.map((c) => `<li>${esc(c.before_zh)} → ${esc(c.after_zh)}：${int(c.households)} 户</li>`).join('');
    const figures = body.indicators.map((i) => {
      const v = body.within.values[i.id];
      return `<tr class="link${i.id === ind.id ? ' current' : ''}" data-ind="${i.id}"><td>${esc(i.name_zh)}</td>`
        + `<td class="num">${int(v.before.count)}</td><td class="num">${int(v.after.count)}</td>`
        + `<td class="num">${signed(v.count_change)}</td><td class="num">${pct(v.before.rate)} → ${pct(v.after.rate)}</td></tr>`;
    }).join('');
    $('area').innerHTML = `${head}<h3 id="changes-area">${esc(shortName(body.within.name))}</h3>`
      + '<table class="list" id="changes-summary"><tbody>'
      + `<tr><td>户数</td><td class="num">${int(h.before)} → ${int(h.after)}</td><td>新增 <b id="changes-added">${int(h.added)}</b> 户，减少 <b id="changes-removed">${int(h.removed)}</b> 户</td></tr>`
      + `<tr><td>人数</td><td class="num">${int(p.before)} → ${int(p.after)}</td><td>自然增加 ${int(p.added)} 人，自然减少 ${int(p.removed)} 人</td></tr>`
      + `<tr><td>监测对象</td><td></td><td>新识别 <b id="changes-entered">${int(m.entered)}</b> 户，退出监测 ${int(m.left)} 户，风险消除 <b id="changes-resolved">${int(m.risk_resolved)}</b> 户${m.risk_reopened ? `，风险返回 ${int(m.risk_reopened)} 户` : ''}</td></tr>`
      + '</tbody></table>'
      + (moves ? `<h3>类别变化</h3><ul id="changes-moves">${moves}</ul>` : '')
      + `<table class="list" id="changes-figures"><thead><tr><th>指标</th><th class="num">前</th><th class="num">后</th><th class="num">变化</th><th class="num">占比</th></tr></thead><tbody>${figures}</tbody></table>`
      + `<p class="exports">导出（各区域、各指标前后对比）：<a id="changes-xlsx" href="api/v1/changes?${this.pair()}&within=${code}&format=xlsx" download>XLSX</a>`
      + `<a href="api/v1/changes?${this.pair()}&within=${code}&format=csv" download>CSV</a></p>`
      + `<p class="muted">${esc(body.note)}</p>`
      + '<h3>历次数据</h3><div id="changes-trend"></div>';
    $('changes-from').value = String(this.from);
    $('changes-to').value = String(this.to);
    for (const [id, key] of [['changes-from', 'from'], ['changes-to', 'to']]) {
      $(id).addEventListener('change', (e) => {
        this[key] = Number(e.target.value);
        // 对比 is the earlier version: two picked the other way round are swapped.
        const at = (v) => this.versions.findIndex((x) => x.version === v);
        if (at(this.from) > at(this.to)) [this.from, this.to] = [this.to, this.from];
        this.show(ind);
      });
    }
    await this.crumbs();
    if (token !== this.token) return;
    this.ranking(body, ind);
    await Promise.all([this.trend(code, ind, token), this.households(code, token)]);
    window.paicha.changes = body;
  }

  /** The map's tooltip over a village. */
  tooltip(code, name, ind) {
    const hit = this.painted.get(code);
    if (!hit) return `<strong>${esc(shortName(name))}</strong><br>无数据`;
    const { v } = hit;
    return `<strong>${esc(shortName(name))}</strong><br>${esc(ind.name_zh)}：${int(v.before.count)} → ${int(v.after.count)}（${signed(v.count_change)}）`;
  }

  /** The parts of the area ranked by the change of the indicator, largest rise first. */
  ranking(body, ind) {
    const rows = body.rows
      .map((r) => ({ r, v: r.values[ind.id] }))
      .filter(({ r }) => r.code !== body.within.code)
      .sort((a, b) => b.v.count_change - a.v.count_change || a.r.code.localeCompare(b.r.code));
    const unit = { township: '乡镇', village: '村', county: '县' }[body.level] || '区域';
    const tr = rows.map(({ r, v }, i) => `<tr class="link" data-code="${r.code}"><td class="num">${i + 1}</td><td>${esc(shortName(r.name))}</td>`
      + `<td class="num">${int(v.before.count)}</td><td class="num">${int(v.after.count)}</td><td class="num">${signed(v.count_change)}</td>`
      + `<td class="num">${signedPct(v.rate_change)}</td></tr>`).join('');
    $('ranking').innerHTML = rows.length
      ? `<h3>各${unit}${esc(ind.name_zh)}变化</h3><table class="list" id="changes-ranking"><thead><tr><th class="num">序</th><th>${unit}</th>`
        + `<th class="num">前</th><th class="num">后</th><th class="num">变化</th><th class="num">占比变化</th></tr></thead><tbody>${tr}</tbody></table>`
      : '';
  }

  /** The indicator's trend in the area panel of 指标一张图, once there are two versions
   * or more (and for an indicator compared between versions). */
  async areaTrend(el, code, ind, current) {
    await this.loadVersions();
    if (this.versions.length < 2 || !current()) return;
    const t = await getJson(`api/v1/trend?indicator=${ind.id}&within=${code}`).catch(() => null);
    if (!t || !current()) return;
    el.innerHTML = `<h3>${esc(ind.name_zh)} 历次数据</h3>`;
    el.insertAdjacentHTML('beforeend', this.chart(t, ind, code));
  }

  /** The indicator over every version, as a small line chart, with the PNG for reports. */
  async trend(code, ind, token) {
    const t = await getJson(`api/v1/trend?indicator=${ind.id}&within=${code}`);
    if (token !== this.token) return;
    $('changes-trend').innerHTML = this.chart(t, ind, code);
  }

  /** The chart of a trend answer (SVG) and the link to its PNG. */
  chart(t, ind, code) {
    const pts = t.points;
    const W = 320;
    const H = 140;
    const pad = { l: 40, r: 12, t: 16, b: 28 };
    const rates = pts.map((p) => p.rate).filter((r) => r != null);
    const top = Math.max(0.0001, ...rates) * 1.15;
    const x = (i) => pad.l + (pts.length === 1 ? (W - pad.l - pad.r) / 2 : (i * (W - pad.l - pad.r)) / (pts.length - 1));
    const y = (r) => H - pad.b - (r / top) * (H - pad.t - pad.b);
    let path = '';
    pts.forEach((p, i) => {
      if (p.rate == null) return;
      path += `${path && pts[i - 1]?.rate != null ? 'L' : 'M'}${x(i).toFixed(1)},${y(p.rate).toFixed(1)}`;
    });
    const dots = pts.map((p, i) => (p.rate == null ? ''
      : `<circle cx="${x(i).toFixed(1)}" cy="${y(p.rate).toFixed(1)}" r="3.5"><title>${esc(p.data_date || '')}：${int(p.count)} ${unitOf(ind)}（${pct(p.rate)}）</title></circle>`
        + `<text x="${x(i).toFixed(1)}" y="${(y(p.rate) - 7).toFixed(1)}" text-anchor="middle" class="value">${pct(p.rate)}</text>`)).join('');
    const labels = pts.map((p, i) => `<text x="${x(i).toFixed(1)}" y="${H - 8}" text-anchor="middle">${esc(p.data_date || '—')}</text>`).join('');
    return `<svg class="trend-chart" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${esc(ind.name_zh)}历次数据">`
      + `<line x1="${pad.l}" y1="${H - pad.b}" x2="${W - pad.r}" y2="${H - pad.b}" class="axis"/>`
      + `<text x="${pad.l - 4}" y="${H - pad.b}" text-anchor="end">0</text>`
      + `<path d="${path}" class="line"/>${dots}${labels}</svg>`
      + `<p class="exports"><a href="api/v1/trend?indicator=${ind.id}&within=${code}&format=png" download>下载图片（PNG）</a></p>`;
  }

  /** The households that changed, for those who may see them (names masked). */
  async households(code, token) {
    if (!can(this.app.who, 'personal') || code.length < 9) return;
    const page = await getJson(`api/v1/changes/households?${this.pair()}&within=${code}&limit=200`);
    if (token !== this.token) return;
    const cat = (a, b) => (a === b ? esc(a || '') : `${esc(a || '—')} → ${esc(b || '—')}`);
    const rows = page.items.map((h) => `<tr data-household="${esc(h.household_no)}"><td>${esc(h.head_name)}</td><td>${esc(shortName(h.village_name))}</td>`
      + `<td>${esc(CHANGE_ZH[h.change] || h.change)}</td><td>${cat(h.category_before_zh, h.category_after_zh)}</td>`
      + `<td class="num">${h.members_before ?? '—'} → ${h.members_after ?? '—'}</td></tr>`).join('');
    $('ranking').insertAdjacentHTML('beforeend', `<h3>变化的农户（${int(page.total)} 户，已脱敏${page.total > page.items.length ? `，列出前 ${page.items.length} 户` : ''}）</h3>`
      + `<p class="exports"><a href="api/v1/changes/households?${this.pair()}&within=${code}&format=xlsx" download>导出全部（XLSX）</a></p>`
      + `<table class="list" id="changes-households"><thead><tr><th>户主</th><th>村</th><th>变化</th><th>类别</th><th class="num">人数</th></tr></thead><tbody>${rows}</tbody></table>`);
  }
}

