// The week's progress (周进度): townships coloured by the share of planned stops
// visited, the week's and cumulative figures, a line chart per week, and the weekly
// report to download or print; per township, its briefing pack (简报) as PDF or to print.
import { session, showSignedIn } from './session.js';
import { getJson, esc, int, pct } from './api.js';

const $ = (id) => document.getElementById(id);
let campaigns = [];
const CLASSES = [[0.2, '低于20%'], [0.4, '20%–40%'], [0.6, '40%–60%'], [0.8, '60%–80%'], [Infinity, '80%以上']];

const shareClass = (s) => (s == null ? 'share-none' : `share-${CLASSES.findIndex(([max]) => s < max)}`);

function legend() {
  $('legend').innerHTML = CLASSES.map(([, label], i) => `<li class="share-${i}">${label}</li>`).join('')
    + '<li class="share-none">无计划</li>';
}

/** A township's briefing pack (简报) of the campaign and week shown: the PDF, and the printable page. */
function briefingLinks(code, campaign, week) {
  if (!code || code.length !== 9) return '';
  const base = `/api/v1/briefings/${encodeURIComponent(code)}?campaign=${encodeURIComponent(campaign)}&week=${encodeURIComponent(week)}`;
  return `<a class="briefing-pdf" href="${esc(`${base}&format=pdf`)}" download>下载简报 PDF</a>`
    + `<a class="briefing-html" href="${esc(`${base}&format=html`)}" target="_blank" rel="noopener">打印版</a>`;
}

function table(rows, campaign, week) {
  $('townships').querySelector('tbody').innerHTML = rows.map((r) => `<tr class="${shareClass(r.share)}" data-code="${esc(r.code || '')}">
    <td>${esc(r.name)}</td><td>${pct(r.share)}</td><td>${int(r.week.visits)}</td><td>${int(r.cumulative.visits)}</td>
    <td>${int(r.week.findings)}</td><td>${int(r.week.opened)}</td><td>${int(r.overdue)}</td>
    <td class="briefing">${briefingLinks(r.code, campaign, week)}</td></tr>`).join('');
}

/** The townships' outlines and label points of an area, fetched once per area. */
const shapes = { parent: null, polygons: [], labels: [] };
async function townshipShapes(area) {
  if (shapes.parent !== area) {
    // A campaign covers a county (its townships) or one township (itself).
    const parent = area.length > 6 ? area.slice(0, 6) : area;
    const q = `level=township&parent=${encodeURIComponent(parent)}`;
    const [polygons, labels] = await Promise.all([
      getJson(`/api/v1/areas.geojson?${q}`),
      getJson(`/api/v1/areas.geojson?${q}&geometry=label`),
    ]);
    const inside = (f) => f.properties.code.startsWith(area);
    Object.assign(shapes, { parent: area, polygons: polygons.features.filter(inside), labels: labels.features.filter(inside) });
  }
  return shapes;
}

const ringsOf = (g) => {
  if (!g) return [];
  if (g.type === 'Polygon') return g.coordinates;
  if (g.type === 'MultiPolygon') return g.coordinates.flat();
  return [];
};

/** The townships on a plain SVG map, each filled by its share of planned stops visited. */
function map(rows, { polygons, labels }) {
  const el = $('map');
  const points = polygons.flatMap((f) => ringsOf(f.geometry).flat());
  if (!points.length) {
    el.textContent = '';
    return;
  }
  const lons = points.map((p) => p[0]);
  const lats = points.map((p) => p[1]);
  const [west, east, south, north] = [Math.min(...lons), Math.max(...lons), Math.min(...lats), Math.max(...lats)];
  // Equirectangular at the area's middle latitude: true enough for a county.
  const k = Math.cos((((south + north) / 2) * Math.PI) / 180);
  const w = 640;
  const scale = w / Math.max((east - west) * k, 1e-9);
  const h = Math.max(1, Math.round((north - south) * scale));
  const xy = ([lon, lat]) => `${((lon - west) * k * scale).toFixed(1)},${((north - lat) * scale).toFixed(1)}`;
  const byCode = new Map(rows.map((r) => [r.code, r]));
  const paths = polygons.map((f) => {
    const { code, name } = f.properties;
    const r = byCode.get(code);
    const d = ringsOf(f.geometry).map((ring) => `M${ring.map(xy).join('L')}Z`).join('');
    const tip = r ? `${name}：完成率 ${pct(r.share)}，本周走访 ${int(r.week.visits)}` : `${name}：无计划`;
    return `<path class="${shareClass(r ? r.share : null)}" data-code="${esc(code)}" d="${d}"><title>${esc(tip)}</title></path>`;
  }).join('');
  const names = labels.filter((f) => f.geometry).map((f) => {
    const [x, y] = xy(f.geometry.coordinates).split(',');
    return `<text x="${x}" y="${y}" text-anchor="middle">${esc(f.properties.name)}</text>`;
  }).join('');
  el.innerHTML = `<svg viewBox="0 0 ${w} ${h}" role="img" aria-label="各乡镇计划走访完成率地图">${paths}${names}</svg>`;
}

/** A plain SVG line chart: visits, findings and ledger entries opened per week. */
function chart(series) {
  const w = 640; const h = 240; const pad = 36;
  const lines = [['visits', '走访'], ['findings', '发现问题'], ['opened', '新增台账问题']];
  const max = Math.max(1, ...series.flatMap((p) => lines.map(([k]) => p.figures[k])));
  const x = (i) => pad + (series.length < 2 ? 0 : (i * (w - 2 * pad)) / (series.length - 1));
  const y = (v) => h - pad - (v * (h - 2 * pad)) / max;
  const polylines = lines.map(([k]) => `<polyline class="line-${k}" points="${series.map((p, i) => `${x(i)},${y(p.figures[k])}`).join(' ')}"/>`).join('');
  const labels = series.map((p, i) => `<text x="${x(i)}" y="${h - 12}" text-anchor="middle">${esc(p.week.slice(5))}</text>`).join('');
  const keys = lines.map(([k, name], i) => `<text class="key" x="${pad + i * 110}" y="16"><tspan class="line-${k}">■</tspan> ${name}</text>`).join('');
  $('chart').innerHTML = `<svg viewBox="0 0 ${w} ${h}" role="img" aria-label="每周折线图">
    <line x1="${pad}" y1="${h - pad}" x2="${w - pad}" y2="${h - pad}" stroke="#999"/>
    <text x="4" y="${pad}">${int(max)}</text>${polylines}${labels}${keys}</svg>`;
}

async function show() {
  const campaign = $('campaign').value;
  const week = $('week').value;
  const q = week ? `?week=${encodeURIComponent(week)}` : '';
  const p = await getJson(`/api/v1/campaigns/${encodeURIComponent(campaign)}/progress${q}`);
  if (!$('week').options.length) {
    for (const point of p.series) $('week').append(new Option(`${point.week}（${point.from}至${point.to}）`, point.week));
    $('week').value = p.week;
  }
  table(p.townships, campaign, p.week);
  chart(p.series);
  const area = campaigns.find((c) => c.id === campaign)?.area_code;
  if (area) map(p.townships, await townshipShapes(area));
  $('status').textContent = `${p.area_name} ${p.from}至${p.to}：本周走访 ${int(p.total.week.visits)} 次，累计 ${int(p.total.cumulative.visits)} 次，计划走访完成率 ${pct(p.total.share)}`;
  const base = `/api/v1/campaigns/${encodeURIComponent(campaign)}/weekly-report?week=${encodeURIComponent(p.week)}`;
  $('report-xlsx').href = `${base}&format=xlsx`;
  $('report-html').href = `${base}&format=html`;
}

// One load at a time, so an older answer never overwrites a newer choice; `data-ready`
// says when the page shows what was last chosen.
let queue = Promise.resolve();
let pending = 0;
function load(step) {
  pending += 1;
  document.body.dataset.ready = 'false';
  queue = queue.then(step).catch((e) => { $('status').textContent = e.message; }).finally(() => {
    pending -= 1;
    if (!pending) document.body.dataset.ready = 'true';
  });
  return queue;
}

async function main() {
  const who = await session();
  showSignedIn($('who'), who);
  legend();
  campaigns = await getJson('/api/v1/campaigns');
  for (const c of campaigns) $('campaign').append(new Option(c.name, c.id));
  $('campaign').addEventListener('change', () => load(() => { $('week').textContent = ''; return show(); }));
  $('week').addEventListener('change', () => load(show));
  if (campaigns.length) await load(show);
  else document.body.dataset.ready = 'true';
}

main().catch((e) => { $('status').textContent = e.message; });
