// 走访计划: the planning panel of the inspection groups. Choose townships, groups, days
// and targets; POST /api/v1/plans; draw the routes per day; offer the downloads.

import {
  getJson, postJson, int, esc, toast, bboxOf, shortName, paintSwatches,
} from './api.js';
import { writeState } from './state.js';

const DAY_COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22'];
const dayColor = (day) => DAY_COLORS[(day - 1) % DAY_COLORS.length];

// The clock time of a stop: the server writes it; a plan stored before plans had a day
// start gets it from the start (08:30 by default) and the minutes after it.
const clock = (plan, stop) => {
  if (stop.arrive) return stop.arrive;
  const [h, m] = (plan.request.day_start || '08:30').split(':').map(Number);
  const at = Math.round(h * 60 + m + stop.arrive_minutes) % 1440;
  return `${String(Math.floor(at / 60)).padStart(2, '0')}:${String(at % 60).padStart(2, '0')}`;
};

export class Planner {
  constructor(app, { select }) {
    this.app = app;
    this.select = select;
    this.plan = null;
    this.townships = null;
  }

  async show() {
    const el = document.getElementById('planner');
    if (!this.townships) {
      this.townships = await getJson('api/v1/areas?level=township');
      el.innerHTML = this.form();
      el.querySelector('form').addEventListener('submit', (e) => {
        e.preventDefault();
        this.submit(e.target).catch((err) => toast(err.message));
      });
      el.querySelector('#plan-pick-start').addEventListener('click', () => this.pickStart());
      el.querySelector('#plan-clear-start').addEventListener('click', () => this.setStart(null));
      el.addEventListener('click', (e) => {
        const row = e.target.closest('tr[data-stop]');
        if (row) {
          const [lon, lat] = row.dataset.stop.split(',').map(Number);
          this.app.map.flyTo({ center: [lon, lat], zoom: Math.max(this.app.map.getZoom(), 14) });
        }
      });
    }
    const id = this.app.state.plan;
    if (id && this.plan?.id !== id) {
      try {
        await this.load(id);
      } catch (e) {
        toast(e.message);
      }
    }
  }

  form() {
    const inds = this.app.catalog.indicators.filter((i) => i.unit !== 'items');
    const area = this.app.state.area.slice(0, 9);
    return `<h2>走访计划 <small class="muted">督查组按日走访路线</small></h2>
<div id="plan-result"></div>
<details id="plan-settings" open><summary>计划条件</summary>
<form class="plan" id="plan-form">
  <label><input type="checkbox" id="plan-use-area"> 按圈选范围（先在地图上圈选）</label>
  <label>乡镇（可多选）<select id="plan-townships" multiple>${this.townships.map((t) => `<option value="${t.code}"${t.code === area ? ' selected' : ''}>${esc(t.name)}</option>`).join('')}</select></label>
  <fieldset><legend>人员与时间</legend>
    <label>督查组数 <input type="number" id="plan-groups" min="1" max="50" placeholder="每乡镇一组"></label>
    <label>出发和返回地点 <span id="plan-start-text">各乡镇驻地（默认）</span>
      <button type="button" id="plan-pick-start">在地图上点选</button>
      <button type="button" id="plan-clear-start" hidden>恢复默认</button></label>
    <label>天数 <input type="number" id="plan-days" min="1" max="60" value="5"></label>
    <label>开始日期 <input type="date" id="plan-start"></label>
    <label>每天出发时间 <input type="time" id="plan-day-start" value="08:30" required></label>
    <label>每天工作（分钟）<input type="number" id="plan-day-minutes" min="60" max="900" value="480"></label>
    <label>每户核查（分钟）<input type="number" id="plan-household-minutes" min="1" max="300" value="30"></label>
    <label>每村督查（分钟）<input type="number" id="plan-village-minutes" min="1" max="480" value="60"></label>
    <label>车速（公里/小时）<input type="number" id="plan-speed" min="5" max="100" value="30"></label>
    <label>绕行系数 <input type="number" id="plan-detour" min="1" max="3" step="0.1" value="1.4"></label>
  </fieldset>
  <fieldset><legend>走访对象</legend>
    <label>未达标指标的农户<select id="plan-indicators" multiple>${inds.map((i) => `<option value="${i.id}"${i.id === 'any_problem' ? ' selected' : ''}>${esc(i.name_zh)}</option>`).join('')}</select></label>
    <label><input type="checkbox" id="plan-ledger" checked> 清单有未达标或逾期问题的村</label>
    <label>每村随机抽查其他农户 <input type="number" id="plan-sample" min="0" max="50" value="0"> 户</label>
    <label>随机种子 <input type="number" id="plan-seed" min="0" value="1"></label>
    <label>必访户编号（每行一个）<textarea id="plan-must" rows="2"></textarea></label>
  </fieldset>
  <button type="submit" id="plan-submit">生成计划</button>
</form>
</details>`;
  }

  /** The next click on the map sets where every group starts and ends its days. */
  pickStart() {
    const { map } = this.app;
    map.getCanvas().style.cursor = 'crosshair';
    document.getElementById('plan-start-text').textContent = '请在地图上点击…';
    map.once('click', (e) => {
      map.getCanvas().style.cursor = '';
      this.setStart({ name: '自选地点', lon: e.lngLat.lng, lat: e.lngLat.lat });
    });
  }

  setStart(place) {
    this.start = place;
    document.getElementById('plan-start-text').textContent = place
      ? `自选地点（${place.lon.toFixed(5)}, ${place.lat.toFixed(5)}）`
      : '各乡镇驻地（默认）';
    document.getElementById('plan-clear-start').hidden = !place;
  }

  request(form) {
    const value = (id) => form.querySelector(`#${id}`).value;
    const number = (id) => Number(value(id));
    const selected = (id) => [...form.querySelector(`#${id}`).selectedOptions].map((o) => o.value);
    const drawn = this.app.draw.polygon;
    const useArea = form.querySelector('#plan-use-area').checked;
    if (useArea && !drawn) throw new Error('请先用“圈选”在地图上画出范围');
    const body = {
      townships: useArea ? [] : selected('plan-townships'),
      days: number('plan-days'),
      day_start: value('plan-day-start') || '08:30',
      day_minutes: number('plan-day-minutes'),
      household_minutes: number('plan-household-minutes'),
      village_minutes: number('plan-village-minutes'),
      speed_kmh: number('plan-speed'),
      detour: number('plan-detour'),
      indicators: selected('plan-indicators'),
      ledger: form.querySelector('#plan-ledger').checked,
      sample_per_village: number('plan-sample'),
      seed: number('plan-seed'),
      must_visit: value('plan-must').split(/\s+/).filter(Boolean),
    };
    if (useArea) body.area = drawn;
    if (this.start) {
      // One place for every group: as many starts as groups.
      const groups = value('plan-groups') ? number('plan-groups') : Math.max(body.townships.length, 1);
      body.starts = Array.from({ length: groups }, () => this.start);
    }
    if (value('plan-groups')) body.groups = number('plan-groups');
    if (value('plan-start')) body.start_date = value('plan-start');
    return body;
  }

  async submit(form) {
    const button = form.querySelector('#plan-submit');
    button.disabled = true;
    button.textContent = '正在计算…';
    try {
      const plan = await postJson('api/v1/plans', this.request(form));
      await this.render(plan);
    } finally {
      button.disabled = false;
      button.textContent = '生成计划';
    }
  }

  async load(id) {
    await this.render(await getJson(`api/v1/plans/${id}`));
  }

  async render(plan) {
    this.plan = plan;
    this.app.state.plan = plan.id;
    writeState(this.app.state);
    window.paicha.plan = plan;
    const { app } = this;
    const geo = await getJson(`api/v1/plans/${plan.id}.geojson`);
    for (const f of geo.features) {
      if (f.properties.day) f.properties.color = dayColor(f.properties.day);
      else f.properties.color = '#7f7f7f';
    }
    // Where each group starts and ends its days.
    for (const g of plan.groups) {
      const start = g.days[0]?.start;
      if (start) {
        geo.features.push({
          type: 'Feature',
          geometry: { type: 'Point', coordinates: [start.lon, start.lat] },
          properties: { layer: 'start', name: `${g.name} 起点：${start.name}`, color: '#222' },
        });
      }
    }
    app.map.getSource('plan').setData(geo);
    const dayCount = Math.max(...plan.groups.map((g) => g.days.length), 0);
    document.getElementById('legend-classes').innerHTML = '<strong>走访路线</strong><table>'
      + Array.from({ length: dayCount }, (_, i) => `<tr><td><span class="sw" data-swatch="${dayColor(i + 1)}"></span></td><td>第${i + 1}天</td></tr>`).join('')
      + '<tr><td><span class="sw start"></span></td><td>起点（乡镇驻地）</td></tr></table>';
    paintSwatches(document.getElementById('legend-classes'));
    const settings = document.getElementById('plan-settings');
    if (settings) settings.open = false;
    const planned = plan.groups.reduce((n, g) => n + g.days.reduce((m, d) => m + d.stops.length, 0), 0);
    const base = `api/v1/plans/${plan.id}`;
    const days = plan.groups.map((g) => `<h3>${esc(g.name)}</h3>` + g.days.map((d) => {
      const rows = d.stops.map((s) => `<tr class="link" data-stop="${s.target.lon},${s.target.lat}"><td class="num">${s.order}</td><td>${clock(plan, s)}</td>`
        + `<td>${esc(shortName(s.target.village_name))}</td><td>${esc(shortName(s.target.label))}</td><td>${esc(s.target.reasons.join('；'))}</td></tr>`).join('');
      return `<details class="plan-day" data-group="${g.group}" data-day="${d.day}"><summary><span class="day-swatch" data-swatch="${dayColor(d.day)}"></span>`
        + `第${d.day}天${d.date ? ` ${d.date}` : ''}：${d.stops.length} 站，${(d.travel_metres / 1000).toFixed(1)} 公里，共 ${Math.round(d.total_minutes)} 分钟`
        + ` <a href="${base}.html?group=${g.group}&day=${d.day}" target="_blank">走访单</a></summary>`
        + `<table class="list"><thead><tr><th class="num">序</th><th>到达</th><th>村</th><th>对象</th><th>核查内容</th></tr></thead><tbody>${rows}</tbody></table></details>`;
    }).join('')).join('');
    const dropped = plan.dropped.length
      ? `<details><summary>未安排 ${int(plan.dropped.length)} 个对象</summary><table class="list" id="plan-dropped"><thead><tr><th>村</th><th>对象</th><th>原因</th></tr></thead><tbody>`
        + plan.dropped.map((d) => `<tr><td>${esc(shortName(d.target.village_name))}</td><td>${esc(shortName(d.target.label))}</td><td>${esc(d.reason)}</td></tr>`).join('')
        + '</tbody></table></details>'
      : '<p>全部对象均已安排。</p>';
    document.getElementById('plan-result').innerHTML = `<h2 id="plan-title">${esc(plan.title)}</h2>`
      + `<p id="plan-summary">${plan.groups.length} 个组 × ${plan.request.days} 天，已安排 <strong>${int(planned)}</strong> 站，未安排 <strong>${int(plan.dropped.length)}</strong> 个。</p>`
      + `<p class="exports">下载：<a href="${base}.gpx" download>GPX（手机导航）</a><a href="${base}.kml" download>KML</a>`
      + `<a href="${base}.geojson" download>GeoJSON</a><a href="${base}.xlsx" download>Excel</a><a href="${base}.csv" download>CSV</a>`
      + `<a href="${base}.html" target="_blank">打印走访单</a>`
      + (plan.dropped.length ? `<a href="${base}.html?list=unplanned" target="_blank">未安排名单</a>` : '') + '</p>'
      + `<p class="hint">到达时间按每天 ${esc(plan.request.day_start || '08:30')} 出发估算。</p>`
      + days + dropped;
    paintSwatches(document.getElementById('plan-result'));
    const stops = geo.features.filter((f) => f.geometry && f.properties.layer !== 'dropped');
    if (stops.length) {
      const b = bboxOf({ coordinates: stops.map((f) => f.geometry.coordinates) });
      app.map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 40, duration: 500, maxZoom: 14 });
    }
  }

  popup(feature, lngLat) {
    const p = feature.properties;
    const html = `<h4>${esc(p.group_name)} 第${p.day}天 · 第${p.order}站</h4>`
      + `<p>${esc(p.township_name)} ${esc(shortName(p.village_name))} · ${esc(p.kind_name)} ${esc(shortName(p.label))}</p>`
      + `<p>预计 ${esc(p.arrive)} 到达，${esc(p.depart)} 离开</p><p>${esc(p.reasons)}</p>`
      + (p.amap ? `<p><a href="${esc(p.amap)}" target="_blank" rel="noopener">高德导航</a>`
        + (p.baidu ? ` <a href="${esc(p.baidu)}" target="_blank" rel="noopener">百度地图</a>` : '') + '</p>' : '');
    new maplibregl.Popup({ maxWidth: '22rem' }).setLngLat(lngLat).setHTML(html).addTo(this.app.map);
  }
}
