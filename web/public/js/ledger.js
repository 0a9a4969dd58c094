// 督查台账: the rectification ledger of a campaign (问题整改台账), for the township and
// village officials who fill it in and the inspection groups who check it.
//
// Data flow: the campaigns and townships are read once; for the chosen campaign its
// checklist (categories, item texts); for the chosen township the village × item
// matrix (/matrix) and a filtered page of entries (/entries); for the open entry the
// entry with its history. Edits PATCH the entry with the version they were based on;
// a 409 shows who changed what meanwhile and lets the user submit again. Everything
// the user chose (campaign, township, filters, page, open entry) is in the URL's hash,
// so that a link reproduces the view; every change of view goes through the hash.

import { session, showSignedIn } from './session.js';
import { getJson, esc, int, toast, shortName } from './api.js';
import { editorName, bindEditorInput } from './editor.js';

const $ = (id) => document.getElementById(id);
const PAGE = 50;
const MAX_IMPORT_BYTES = 5 << 20;

/** The statuses in the order of the ledger's flow, with their Chinese names. */
export const STATUSES = [
  ['not_checked', '未排查'],
  ['no_problem', '无问题'],
  ['problem', '有问题'],
  ['rectifying', '整改中'],
  ['rectified', '已整改'],
  ['closed', '已销号'],
];
const STATUS_LABEL = Object.fromEntries(STATUSES);
const statusLabel = (code) => (code == null ? '无条目' : STATUS_LABEL[code] || code);

/** The signatures an entry carries: field, who signs. */
const SIGNERS = [
  ['secretary', '村党支部书记'],
  ['first_secretary', '驻村第一书记'],
  ['group_leader', '督查组组长'],
];

/** The entry's fields in Chinese, as the history and the error messages name them. */
const FIELD_LABEL = {
  status: '状态',
  problem: '问题描述',
  measure: '整改措施',
  deadline: '整改期限',
  responsible: '责任人',
  result: '整改结果',
  notes: '备注',
  secretary: '村党支部书记签字',
  first_secretary: '驻村第一书记签字',
  group_leader: '督查组组长签字',
  by: '填报人',
  version: '版本',
  file: '文件',
  body: '文件',
  id: '清单编号',
  name: '名称',
  region: '地区',
};
const fieldLabel = (field) => FIELD_LABEL[field] || field;

/** Text fields of the form: field, input element kind. */
const TEXT_FIELDS = [
  ['problem', 'textarea'],
  ['measure', 'textarea'],
  ['deadline', 'date'],
  ['responsible', 'text'],
  ['result', 'textarea'],
  ['notes', 'textarea'],
];

/** The server explains in English; the officials read Chinese. Known reasons are
 * translated; anything else is shown as the server wrote it. */
const REASONS = [
  [/^say who (makes the change|imports)$/, () => '请填写填报人'],
  [/^unknown status "(.*)"$/, (m) => `无法识别的状态“${m[1]}”`],
  [/^"(.*)" is not a date YYYY-MM-DD$/, (m) => `“${m[1]}”不是有效日期（应为 年-月-日，如 2019-09-30）`],
  [/^a signature needs who/, () => '签字须同时填写签字人和签字日期'],
  [/^status (\S+) needs the problem found$/, (m) => `状态为“${m[1]}”时须填写问题描述`],
  [/^status (\S+) needs the measure, the deadline and the person responsible$/,
    (m) => `状态为“${m[1]}”时须填写整改措施、整改期限和责任人`],
  [/^已销号 needs the signatures/, () => '销号须有村党支部书记和驻村第一书记签字'],
  [/^"(.*)" is not a status/, (m) => `“${m[1]}”不是有效状态（应为 未排查、无问题、有问题、整改中、已整改、已销号 之一）`],
  [/^"(.*)" is not an item of \S+ \(1 to (\d+)\)$/, (m) => `“${m[1]}”不是清单中的条目（应为 1 至 ${m[2]}）`],
  [/^empty$/, () => '不能为空'],
  [/^item (\d+) appears twice$/, (m) => `第 ${m[1]} 项重复出现`],
  [/^missing required column$/, () => '缺少必填列'],
  [/^unknown column \(column (\d+)\); expected (.*)$/, (m) => `无法识别的列（第 ${m[1]} 列），可用的列：${m[2].split(', ').join('、')}`],
  [/^no header row with a 条目 column$/, () => '找不到含“条目”列的表头行'],
  [/^no rows under the header$/, () => '表头下没有数据行'],
  [/^not an XLSX file/, () => '不是 Excel（.xlsx）文件'],
  [/^unknown field/, () => '无法识别的字段'],
  [/larger than the limit/, () => '文件太大（不能超过 5 MB）'],
  [/^letters, digits and '-'/, () => '只能用字母、数字和“-”，不超过 64 个'],
  [/^a template with id "(.*)" exists$/, (m) => `编号“${m[1]}”已被其他清单使用`],
  [/^longer than (\d+) characters$/, (m) => `不能超过 ${m[1]} 个字`],
  [/^template "(.*)" has no item (\d+)$/, (m) => `清单中没有第 ${m[2]} 项`],
  [/^item (\d+) is given twice$/, (m) => `第 ${m[1]} 项重复`],
];

export function reasonZh(reason) {
  const text = String(reason ?? '');
  for (const [re, zh] of REASONS) {
    const m = text.match(re);
    if (m) return zh(m);
  }
  return text;
}

/** Where an import error is: `row 4, 状态` → 第 4 行，状态. */
export function placeZh(field) {
  const text = String(field ?? '');
  let m = text.match(/^item (\d+) \(data row (\d+)\), (\w+)$/);
  if (m) return `第 ${m[1]} 项（第 ${m[2]} 个数据行），${fieldLabel(m[3])}`;
  m = text.match(/^units\[(\d+)\]\.(position|responsible_unit)$/);
  if (m) return `第 ${Number(m[1]) + 1} 处修改的${m[2] === 'position' ? '条目' : '责任单位'}`;
  m = text.match(/^row (\d+)(?:, (.*))?$/);
  if (m) return m[2] ? `第 ${m[1]} 行，${m[2]}` : `第 ${m[1]} 行`;
  return fieldLabel(text);
}


/** An RFC 3339 time as China time, 2019-09-30 18:00. */
function when(ts) {
  const d = new Date(ts);
  if (!ts || Number.isNaN(d.getTime())) return ts || '';
  const china = new Date(d.getTime() + 8 * 3600e3).toISOString();
  return `${china.slice(0, 10)} ${china.slice(11, 16)}`;
}

/** Today in China, YYYY-MM-DD. */
const todayChina = () => new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10);

// ---------------------------------------------------------------- state

const app = {
  campaigns: [],
  townships: [],
  templates: new Map(), // id → template (items)
  campaign: null,
  template: null,
  matrix: null,
  entry: null, // the entry the form was loaded from
  conflict: null, // { base, others, mine }
  keys: { campaign: '', matrix: '', list: '', entry: '' },
  busy: 0,
};
window.ledger = { ready: false, failed: null, busy: 0, app };
// The list's query for the view in the hash: the tests wait until the table shows it.
window.ledger.listQuery = () => listQuery(readHash());

function busy(delta) {
  app.busy += delta;
  window.ledger.busy = app.busy;
  document.body.dataset.busy = String(app.busy);
}

/** Runs loads one after another, so that a later view never draws under an earlier one. */
let chain = Promise.resolve();
function queue(task) {
  busy(1);
  const run = chain.then(task).catch((e) => toast(`读取失败：${e.message}`)).finally(() => busy(-1));
  chain = run;
  return run;
}

function readHash() {
  const p = new URLSearchParams(window.location.hash.slice(1));
  const off = Number.parseInt(p.get('off') || '0', 10);
  return {
    c: p.get('c') || '',
    t: p.get('t') || '',
    st: (p.get('st') || '').split(',').filter((s) => s in STATUS_LABEL),
    cat: p.get('cat') || '',
    od: p.get('od') === '1',
    off: Number.isFinite(off) && off > 0 ? off : 0,
    e: p.get('e') || '',
  };
}

function hashOf(s) {
  const p = new URLSearchParams();
  if (s.c) p.set('c', s.c);
  if (s.t) p.set('t', s.t);
  if (s.st.length) p.set('st', s.st.join(','));
  if (s.cat) p.set('cat', s.cat);
  if (s.od) p.set('od', '1');
  if (s.off) p.set('off', String(s.off));
  if (s.e) p.set('e', s.e);
  return p.toString().replace(/%2C/g, ',').replace(/%2F/g, '/');
}

/** Changes the view: writes the hash, whose `hashchange` draws it. */
function navigate(patch) {
  const hash = hashOf({ ...readHash(), ...patch });
  if (hash === window.location.hash.slice(1)) queue(() => apply());
  else window.location.hash = hash;
}

const campaignPath = () => `api/v1/campaigns/${encodeURIComponent(app.campaign.id)}`;
const entryPath = (key) => {
  const [village, position] = key.split('/');
  return `${campaignPath()}/entries/${encodeURIComponent(village)}/${encodeURIComponent(position)}`;
};

async function template(id) {
  if (!app.templates.has(id)) app.templates.set(id, await getJson(`api/v1/checklists/${encodeURIComponent(id)}`));
  return app.templates.get(id);
}

function categories() {
  const seen = [];
  for (const item of app.template?.items || []) if (!seen.includes(item.category)) seen.push(item.category);
  return seen;
}

const itemOf = (position) => app.template?.items.find((i) => i.position === Number(position));
const townshipsOf = (campaign) => app.townships.filter((t) => t.code.startsWith(campaign.area_code));
const villageName = (code) => app.matrix?.villages.find((v) => v.code === code)?.name;

/** Reads the hash, fills in what it leaves open, and draws what changed. */
async function apply({ force = false } = {}) {
  const s = readHash();
  const campaign = app.campaigns.find((c) => c.id === s.c)
    || app.campaigns.find((c) => (s.t || s.e) && (s.t || s.e).startsWith(c.area_code))
    || app.campaigns[0];
  const towns = townshipsOf(campaign);
  const township = towns.find((t) => t.code === s.t)
    || towns.find((t) => s.e.startsWith(t.code))
    || towns[0];
  const fixed = { ...s, c: campaign.id, t: township ? township.code : '' };
  const loads0 = [];
  if (campaign.id !== app.keys.campaign) {
    app.campaign = campaign;
    app.template = await template(campaign.template_id);
    loads0.push(drawTemplate());
  }
  if (fixed.cat && !categories().includes(fixed.cat)) fixed.cat = '';
  const hash = hashOf(fixed);
  if (hash !== window.location.hash.slice(1)) {
    window.history.replaceState(null, '', `${window.location.pathname}${window.location.search}#${hash}`);
  }

  if (campaign.id !== app.keys.campaign) {
    app.keys.campaign = campaign.id;
    app.keys.matrix = '';
    app.keys.list = '';
    app.keys.entry = '';
    drawCampaignControls();
  }
  $('campaign').value = campaign.id;
  $('township').value = fixed.t;
  syncFilters(fixed);

  const matrixKey = `${campaign.id}|${fixed.t}`;
  const listKey = `${matrixKey}|${fixed.st.join(',')}|${fixed.cat}|${fixed.od}|${fixed.off}`;
  const entryKey = fixed.e ? `${campaign.id}|${fixed.e}` : '';
  const loads = [];
  if (force || !$('summary').dataset.campaign || $('summary').dataset.campaign !== campaign.id) loads.push(loadSummary(fixed.t));
  else drawReports(fixed.t);
  if (force || matrixKey !== app.keys.matrix) loads.push(loadMatrix(fixed.t).then(() => { app.keys.matrix = matrixKey; }));
  if (force || listKey !== app.keys.list) loads.push(loadList(fixed).then(() => { app.keys.list = listKey; }));
  if (entryKey !== app.keys.entry) loads.push(loadEntry(fixed.e).then(() => { app.keys.entry = entryKey; }));
  await Promise.all([...loads0, ...loads]);
  markOpenCell();
}

// ---------------------------------------------------------------- campaign and summary

function drawCampaignControls() {
  $('campaign').innerHTML = app.campaigns.map((c) => `<option value="${esc(c.id)}">${esc(c.name)}</option>`).join('');
  $('township').innerHTML = townshipsOf(app.campaign)
    .map((t) => `<option value="${esc(t.code)}">${esc(t.name)}</option>`).join('');
  $('filter-category').innerHTML = '<option value="">全部类别</option>'
    + categories().map((c) => `<option value="${esc(c)}">${esc(c)}</option>`).join('');
}

const WEEKDAYS = ['', '一', '二', '三', '四', '五', '六', '日'];

function cycleText(c) {
  if (c.cycle === 'weekly') return `周报，每周${WEEKDAYS[c.due_day] || c.due_day}报送`;
  if (c.cycle === 'monthly') return `月报，每月 ${c.due_day} 日报送`;
  return '';
}

async function loadSummary(townshipCode) {
  const c = await getJson(campaignPath());
  app.campaign = { ...app.campaign, ...c };
  const counts = STATUSES.map(([code, label]) => `<td class="num" data-status="${code}"><span class="sw st-${code}"></span> ${label} <strong>${int(c.statuses[code] || 0)}</strong></td>`).join('');
  $('summary').innerHTML = `<h2 id="campaign-name">${esc(c.name)}</h2>`
    + `<p class="muted">清单：${esc(c.template_name)} · 范围：${esc(c.area_name)} · ${esc(c.starts)} 至 ${esc(c.ends)} · ${esc(cycleText(c))} · 逾期判定日 ${esc(c.as_of)}</p>`
    + `<table class="list counts" id="campaign-statuses" aria-label="全部条目按状态"><tbody><tr>${counts}`
    + `<td class="num overdue-count">逾期未整改 <strong id="campaign-overdue">${int(c.overdue)}</strong></td></tr></tbody></table>`
    + '<p class="exports" id="reports" aria-label="报表下载"></p>';
  $('summary').dataset.campaign = c.id;
  drawReports(townshipCode);
}

/** Report links: the township's and the campaign area's, Excel and printable. */
function reportLinks(code, name, what = '报表') {
  const base = `${campaignPath()}/report?within=${encodeURIComponent(code)}`;
  return `<a href="${base}&format=xlsx" download data-report="${esc(code)}" data-format="xlsx">${esc(name)}${what}（Excel）</a>`
    + `<a href="${base}&format=html" target="_blank" rel="noopener" data-report="${esc(code)}" data-format="html">${esc(name)}${what}（打印版）</a>`;
}

function drawReports(townshipCode) {
  const el = $('reports');
  if (!el) return;
  const town = app.townships.find((t) => t.code === townshipCode);
  let html = '报表：';
  if (town) html += reportLinks(town.code, town.name);
  if (app.campaign.area_code !== townshipCode) html += reportLinks(app.campaign.area_code, app.campaign.area_name || '全部');
  el.innerHTML = html;
}

// ---------------------------------------------------------------- matrix

async function loadMatrix(townshipCode) {
  const wrap = $('matrix-wrap');
  if (!townshipCode) {
    app.matrix = null;
    wrap.innerHTML = '<p class="muted">该排查活动没有乡镇。</p>';
    return;
  }
  const m = await getJson(`${campaignPath()}/matrix?within=${encodeURIComponent(townshipCode)}`);
  app.matrix = m;
  drawMatrix(m, townshipCode);
  drawImportVillages(m);
}

function drawMatrix(m, townshipCode) {
  const groups = [];
  for (const item of m.items) {
    const last = groups.at(-1);
    if (last && last.category === item.category) last.span += 1;
    else groups.push({ category: item.category, span: 1 });
  }
  const head1 = groups.map((g) => `<th scope="colgroup" colspan="${g.span}" class="cat">${esc(g.category)}</th>`).join('');
  const head2 = m.items.map((item) => {
    const full = itemOf(item.position);
    const number = item.number ?? '—';
    return `<th scope="col" class="item" data-position="${item.position}" title="${esc(`第 ${item.position} 项（序号 ${number}）：${full?.content || ''}`)}">${esc(number)}</th>`;
  }).join('');
  const counts = Object.fromEntries(STATUSES.map(([code]) => [code, 0]));
  let none = 0;
  const rows = m.villages.map((v) => {
    const short = shortName(v.name);
    const cells = v.statuses.map((status, i) => {
      const item = m.items[i];
      if (status == null) {
        none += 1;
        return `<td class="cell st-none" data-village="${esc(v.code)}" data-position="${item.position}" data-status="" title="${esc(`${short} 第 ${item.position} 项：无条目`)}"></td>`;
      }
      counts[status] = (counts[status] || 0) + 1;
      const label = `${short} 第 ${item.position} 项（序号 ${item.number ?? '—'}）：${statusLabel(status)}`;
      return `<td class="cell st-${esc(status)}" data-village="${esc(v.code)}" data-position="${item.position}" data-status="${esc(status)}">`
        + `<button type="button" data-open="${esc(v.code)}/${item.position}" aria-label="${esc(label)}" title="${esc(label)}"></button></td>`;
    }).join('');
    return `<tr data-village="${esc(v.code)}"><th scope="row" class="village" title="${esc(v.name)}">${esc(short)}</th>${cells}</tr>`;
  }).join('');
  $('matrix-wrap').innerHTML = `<table id="matrix" class="matrix" data-township="${esc(townshipCode)}" aria-label="各村各条目状态">`
    + `<thead><tr><th rowspan="2" class="corner">村 \\ 条目</th>${head1}</tr><tr>${head2}</tr></thead>`
    + `<tbody>${rows}</tbody></table>`;
  $('status-legend').innerHTML = STATUSES.map(([code, label]) => `<li data-status="${code}"><span class="sw st-${code}"></span>`
    + `<span class="label">${label}</span> <span class="num">${int(counts[code])}</span></li>`).join('')
    + (none ? `<li data-status=""><span class="sw st-none"></span><span class="label">无条目</span> <span class="num">${int(none)}</span></li>` : '');
}

function markOpenCell() {
  const open = readHash().e;
  document.querySelectorAll('#matrix td.open').forEach((td) => td.classList.remove('open'));
  if (!open) return;
  const [village, position] = open.split('/');
  document.querySelector(`#matrix td[data-village="${CSS.escape(village)}"][data-position="${CSS.escape(position || '')}"]`)?.classList.add('open');
}

// ---------------------------------------------------------------- filters and list

function drawStatusFilters() {
  $('filter-statuses').innerHTML = '<legend>状态</legend>' + STATUSES.map(([code, label]) => `<label class="status-check">`
    + `<input type="checkbox" name="status" value="${code}" aria-label="${label}"> <span class="sw st-${code}"></span>${label}</label>`).join('');
}

function syncFilters(s) {
  document.querySelectorAll('#filter-statuses input[name=status]').forEach((box) => {
    box.checked = s.st.includes(box.value);
  });
  $('filter-category').value = s.cat;
  $('filter-overdue').checked = s.od;
}

function filtersFromForm() {
  return {
    st: [...document.querySelectorAll('#filter-statuses input[name=status]:checked')].map((b) => b.value),
    cat: $('filter-category').value,
    od: $('filter-overdue').checked,
    off: 0,
  };
}

function listQuery(s) {
  const q = new URLSearchParams({ within: s.t });
  if (s.st.length) q.set('status', s.st.join(','));
  if (s.cat) q.set('category', s.cat);
  if (s.od) q.set('overdue', 'true');
  q.set('limit', String(PAGE));
  q.set('offset', String(s.off));
  return q.toString();
}

async function loadList(s) {
  if (!s.t) {
    $('entries').innerHTML = '';
    return;
  }
  const page = await getJson(`${campaignPath()}/entries?${listQuery(s)}`);
  const body = page.items.map((e) => {
    const key = `${e.village_code}/${e.position}`;
    const item = e.item || {};
    return `<tr class="link" tabindex="0" data-open="${esc(key)}" data-key="${esc(key)}">`
      + `<td>${esc(shortName(e.village_name))}</td>`
      + `<td class="num">${esc(item.number ?? '—')}</td>`
      + `<td>${esc(item.category || '')}</td>`
      + `<td class="content" title="${esc(item.content || '')}">${esc(item.content || '')}</td>`
      + `<td><span class="status st-${esc(e.status)}">${esc(statusLabel(e.status))}</span></td>`
      + `<td>${esc(e.deadline || '')}${e.overdue ? ' <span class="overdue">逾期</span>' : ''}</td>`
      + `<td>${esc(e.responsible || '')}</td>`
      + `<td>${esc(e.problem || '')}</td></tr>`;
  }).join('');
  const last = Math.min(page.offset + page.items.length, page.total);
  $('entries').innerHTML = `<p class="muted" id="entries-summary">共 <strong id="entries-total">${int(page.total)}</strong> 条`
    + `（逾期按 ${esc(page.as_of)} 判定）</p>`
    + `<table class="list" id="entries-table" data-key="${esc(listQuery(s))}" aria-label="台账条目列表"><thead><tr>`
    + '<th>村</th><th class="num">序号</th><th>类别</th><th>排查内容</th><th>状态</th><th>整改期限</th><th>责任人</th><th>问题描述</th>'
    + `</tr></thead><tbody>${body || '<tr><td colspan="8" class="muted">没有符合条件的条目</td></tr>'}</tbody></table>`
    + `<p class="pager"><span id="entries-range">${page.total ? `${page.offset + 1}–${last}` : '0'} / ${int(page.total)}</span> `
    + `<button type="button" data-off="${Math.max(0, page.offset - PAGE)}" aria-label="上一页" ${page.offset === 0 ? 'disabled' : ''}>上一页</button>`
    + `<button type="button" data-off="${page.offset + PAGE}" aria-label="下一页" ${last >= page.total ? 'disabled' : ''}>下一页</button></p>`;
}

// ---------------------------------------------------------------- the entry

async function loadEntry(key) {
  app.conflict = null;
  const panel = $('entry');
  if (!key) {
    app.entry = null;
    panel.hidden = true;
    panel.innerHTML = '';
    $('ledger-main').classList.remove('with-entry');
    return;
  }
  const entry = await getJson(entryPath(key));
  drawEntry(entry);
}

function signatureText(s) {
  return s ? `${s.who}（${s.at}）` : '未签';
}

function historyValue(field, value) {
  if (value == null || value === '') return '（空）';
  if (field === 'status') return statusLabel(value);
  return value;
}

function historyRows(changes) {
  return changes.map((h) => `<tr data-version="${h.version}" data-field="${esc(h.field)}">`
    + `<td class="num">${h.version}</td><td><time datetime="${esc(h.changed_at)}">${esc(when(h.changed_at))}</time></td>`
    + `<td>${esc(h.changed_by)}</td><td>${esc(fieldLabel(h.field))}</td>`
    + `<td class="old">${esc(historyValue(h.field, h.old_value))}</td><td class="new">${esc(historyValue(h.field, h.new_value))}</td></tr>`).join('');
}

const HISTORY_HEAD = '<thead><tr><th class="num">版本</th><th>时间</th><th>修改人</th><th>项目</th><th>原内容</th><th>新内容</th></tr></thead>';

function fieldInput(field, kind) {
  const id = `f-${field}`;
  const label = fieldLabel(field);
  let input;
  if (kind === 'textarea') input = `<textarea id="${id}" name="${field}" rows="2" aria-label="${label}"></textarea>`;
  else if (kind === 'date') input = `<input type="date" id="${id}" name="${field}" aria-label="${label}">`;
  else input = `<input type="text" id="${id}" name="${field}" aria-label="${label}">`;
  return `<div class="field" data-field="${field}"><label for="${id}">${label}</label>${input}`
    + `<p class="field-error" id="err-${field}" role="alert" hidden></p></div>`;
}

/** Who may sign which: the village's two secretaries, the group's leader. */
const SIGN_RIGHT = { secretary: 'sign_village', first_secretary: 'sign_village', group_leader: 'sign_group' };

/** A signature's inputs. A signature is the signed-in person's own act: the signer is
 * them (filled in when they date it), and those whose role does not sign it cannot. */
function signatureInputs(field, who) {
  const mine = app.who && app.who.can.includes(SIGN_RIGHT[field]);
  const off = mine ? '' : ' disabled';
  return `<div class="field sign" data-field="${field}"><span class="signer">${who}</span>`
    + `<input type="text" id="f-${field}-who" aria-label="${who}签字人" placeholder="签字人（本人）" readonly>`
    + `<input type="date" id="f-${field}-at" aria-label="${who}签字日期"${off}>`
    + `<button type="button" data-today="${field}" aria-label="${who}签字日期填今天"${off}>今天</button>`
    + `<button type="button" data-clear="${field}" aria-label="清除${who}签字"${off}>清除</button>`
    + `${mine ? '' : '<span class="muted">本人岗位不签此字</span>'}`
    + `<p class="field-error" id="err-${field}" role="alert" hidden></p></div>`;
}

/** Dating a signature signs it as the signed-in person. */
function signAsMe(field) {
  $(`f-${field}-who`).value = editorName();
}

function drawEntry(entry, { keep = null } = {}) {
  app.entry = entry;
  const key = `${entry.village_code}/${entry.position}`;
  const item = entry.item || {};
  const name = shortName(entry.village_name);
  const conflict = app.conflict ? conflictBox(app.conflict) : '';
  const panel = $('entry');
  panel.dataset.key = key;
  panel.dataset.version = String(entry.version);
  panel.innerHTML = `<div class="entry-head"><h2 id="entry-title">${esc(name)} · 第 ${entry.position} 项</h2>`
    + '<button type="button" id="entry-close" aria-label="关闭条目">关闭</button></div>'
    + `<p class="muted">${esc(entry.village_name)} · ${esc(item.category || '')} · 序号 ${esc(item.number ?? '—')}`
    + `${item.item ? ` · ${esc(item.item)}` : ''}${item.responsible_unit ? ` · 责任单位：${esc(item.responsible_unit)}` : ''}</p>`
    + `<p id="entry-content">${esc(item.content || '')}</p>`
    + `<p>当前状态 <span class="status st-${esc(entry.status)}" id="entry-status" data-status="${esc(entry.status)}">${esc(statusLabel(entry.status))}</span>`
    + `${entry.overdue ? ' <span class="overdue" id="entry-overdue">已逾期</span>' : ''}</p>`
    + `<p class="muted" id="entry-meta">第 <span id="entry-version">${entry.version}</span> 版 · 最后修改 `
    + `<time datetime="${esc(entry.updated_at)}">${esc(when(entry.updated_at))}</time> · <span id="entry-updated-by">${esc(entry.updated_by)}</span></p>`
    + `<dl class="signs" id="entry-signatures">${SIGNERS.map(([f, who]) => `<dt>${who}</dt><dd data-signer="${f}">${esc(signatureText(entry[f]))}</dd>`).join('')}</dl>`
    + `<p class="exports">本村报表：${reportLinks(entry.village_code, name, '台账')}</p>`
    + `<div id="conflict" role="alert"${conflict ? '' : ' hidden'}>${conflict}</div>`
    + '<form id="entry-form" aria-label="填报条目" novalidate>'
    + '<h3>填报</h3>'
    + `<div class="field" data-field="status"><label for="f-status">状态</label><select id="f-status" name="status" aria-label="状态">`
    + `${STATUSES.map(([code, label]) => `<option value="${code}">${label}</option>`).join('')}</select>`
    + '<p class="field-error" id="err-status" role="alert" hidden></p></div>'
    + TEXT_FIELDS.map(([f, kind]) => fieldInput(f, kind)).join('')
    + `<fieldset id="signatures"><legend>签字背书</legend>${SIGNERS.map(([f, who]) => signatureInputs(f, who)).join('')}</fieldset>`
    + '<p class="field-error" id="err-by" role="alert" hidden></p>'
    + '<p class="field-error" id="err-form" role="alert" hidden></p>'
    + '<p class="actions"><button type="submit" id="entry-save">保存</button> '
    + '<button type="button" id="entry-reset">撤销未保存的修改</button> '
    + '<span id="save-status" role="status"></span></p>'
    + '</form>'
    + `<h3>修改记录（${entry.history.length} 条）</h3>`
    + `<table class="list" id="history" aria-label="修改记录">${HISTORY_HEAD}<tbody>${historyRows(entry.history)
      || '<tr><td colspan="6" class="muted">尚无修改</td></tr>'}</tbody></table>`;
  fillForm(entry);
  if (keep) fillForm(keep, { partial: keep });
  panel.hidden = false;
  $('ledger-main').classList.add('with-entry');
}

function conflictBox(c) {
  const mine = new Set(c.mine);
  const rows = c.others.map((h) => `<tr data-version="${h.version}" data-field="${esc(h.field)}"${mine.has(h.field) ? ' class="clash"' : ''}>`
    + `<td class="num">${h.version}</td><td><time datetime="${esc(h.changed_at)}">${esc(when(h.changed_at))}</time></td>`
    + `<td class="who">${esc(h.changed_by)}</td><td>${esc(fieldLabel(h.field))}${mine.has(h.field) ? '（你也修改了此项）' : ''}</td>`
    + `<td class="old">${esc(historyValue(h.field, h.old_value))}</td><td class="new">${esc(historyValue(h.field, h.new_value))}</td></tr>`).join('');
  const people = [...new Set(c.others.map((h) => h.changed_by))].join('、');
  return `<p><strong>未保存：</strong>你打开此条目（第 ${c.base} 版）后，${esc(people || '他人')}已修改了它，你的修改尚未写入。</p>`
    + `<table class="list" id="conflict-changes" aria-label="他人的修改">${HISTORY_HEAD}<tbody>${rows}</tbody></table>`
    + `<p>表单已换成最新内容，并保留了你的修改（${c.mine.map(fieldLabel).map(esc).join('、')}）。核对后可重新提交。</p>`
    + '<p><button type="button" id="conflict-reapply">重新提交我的修改</button> '
    + '<button type="button" id="conflict-discard">放弃我的修改</button></p>';
}

/** Fills the form from an entry (or from `values` of the form's own shape). */
function fillForm(values, { partial = null } = {}) {
  const has = (f) => !partial || f in partial;
  if (has('status')) $('f-status').value = values.status;
  for (const [f] of TEXT_FIELDS) if (has(f)) $(`f-${f}`).value = values[f] ?? '';
  for (const [f] of SIGNERS) {
    if (!has(f)) continue;
    $(`f-${f}-who`).value = values[f]?.who ?? '';
    $(`f-${f}-at`).value = values[f]?.at ?? '';
  }
}

/** The form's values, in the entry's shape (signatures null when both inputs are empty). */
function formValues() {
  const v = { status: $('f-status').value };
  for (const [f] of TEXT_FIELDS) {
    const text = $(`f-${f}`).value.trim();
    v[f] = text === '' ? null : text;
  }
  for (const [f] of SIGNERS) {
    const who = $(`f-${f}-who`).value.trim();
    const at = $(`f-${f}-at`).value.trim();
    v[f] = who === '' && at === '' ? null : { who, at };
  }
  return v;
}

const same = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** An entry's values in the shape of `formValues()`. */
function entryValues(e) {
  const v = { status: e.status };
  for (const [f] of TEXT_FIELDS) v[f] = (e[f] ?? '').trim() || null;
  for (const [f] of SIGNERS) v[f] = e[f] ? { who: e[f].who, at: e[f].at } : null;
  return v;
}

/** What the form changes in `base`: only those fields (null clears one). */
function changesFrom(base) {
  const now = formValues();
  const was = entryValues(base);
  const out = {};
  for (const f of Object.keys(now)) if (!same(now[f], was[f])) out[f] = now[f];
  return out;
}

function clearErrors() {
  document.querySelectorAll('#entry .field-error').forEach((p) => { p.hidden = true; p.textContent = ''; });
  document.querySelectorAll('#entry .field.invalid').forEach((d) => d.classList.remove('invalid'));
  $('save-status').textContent = '';
}

function showError(field, text) {
  const el = $(`err-${field}`) || $('err-form');
  const prefix = el.id === 'err-form' ? `${fieldLabel(field)}：` : '';
  el.textContent = el.hidden ? prefix + text : `${el.textContent}；${prefix}${text}`;
  el.hidden = false;
  el.closest('.field')?.classList.add('invalid');
}

async function save() {
  const entry = app.entry;
  if (!entry) return;
  clearErrors();
  const by = editorName();
  if (!by) {
    showError('by', '请先在页面上方填写填报人');
    $('editor').focus();
    return;
  }
  const changes = changesFrom(entry);
  if (!Object.keys(changes).length) {
    $('save-status').textContent = '没有需要保存的修改';
    return;
  }
  const key = `${entry.village_code}/${entry.position}`;
  $('entry-save').disabled = true;
  busy(1);
  try {
    const response = await fetch(entryPath(key), {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ version: entry.version, by, ...changes }),
    });
    if (response.ok) {
      app.conflict = null;
      const saved = await response.json();
      drawEntry(saved);
      $('save-status').textContent = `已保存（第 ${saved.version} 版）`;
      await queue(() => refreshViews());
      return;
    }
    const problem = await response.json().catch(() => ({}));
    if (response.status === 409) {
      const now = await getJson(entryPath(key));
      app.conflict = {
        base: entry.version,
        others: now.history.filter((h) => h.version > entry.version),
        mine: Object.keys(changes),
      };
      drawEntry(now, { keep: changes });
      await queue(() => refreshViews());
      return;
    }
    if (response.status === 400 && Array.isArray(problem.errors)) {
      for (const e of problem.errors) showError(e.field, reasonZh(e.reason));
      $('save-status').textContent = '未保存：请按提示修改';
      return;
    }
    toast(`保存失败（${response.status}）：${problem.detail || problem.title || ''}`);
  } catch (e) {
    toast(`保存失败：${e.message}`);
  } finally {
    if ($('entry-save')) $('entry-save').disabled = false;
    busy(-1);
  }
}

/** After a change: the campaign's counts, the matrix and the list again. */
async function refreshViews() {
  const s = readHash();
  await Promise.all([loadSummary(s.t), loadMatrix(s.t), loadList(s)]);
  markOpenCell();
}

// ---------------------------------------------------------------- import

function drawImportVillages(m) {
  const select = $('import-village');
  const before = select.value;
  select.innerHTML = m.villages.map((v) => `<option value="${esc(v.code)}">${esc(shortName(v.name))}</option>`).join('');
  if (m.villages.some((v) => v.code === before)) select.value = before;
}

function showImportFile() {
  const file = $('import-file').files[0];
  $('import-file-name').textContent = file ? file.name : '未选择文件';
}

async function importFile() {
  const result = $('import-result');
  const village = $('import-village').value;
  const file = $('import-file').files[0];
  const by = editorName();
  const say = (html) => { result.innerHTML = html; };
  if (!by) { say('<p class="field-error" id="import-message">请先在页面上方填写填报人</p>'); $('editor').focus(); return; }
  if (!village) { say('<p class="field-error" id="import-message">请选择村</p>'); return; }
  if (!file) { say('<p class="field-error" id="import-message">请选择要导入的 Excel 文件</p>'); return; }
  if (file.size > MAX_IMPORT_BYTES) { say('<p class="field-error" id="import-message">文件太大（不能超过 5 MB）</p>'); return; }
  $('import-submit').disabled = true;
  busy(1);
  say('<p class="muted">正在导入…</p>');
  try {
    const url = `${campaignPath()}/entries/${encodeURIComponent(village)}/import?by=${encodeURIComponent(by)}`;
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' },
      body: file,
    });
    const answer = await response.json().catch(() => ({}));
    const name = esc(shortName(villageName(village) || village));
    if (response.ok) {
      say(`<p id="import-ok" data-village="${esc(village)}">${name}：已导入，读取 <strong id="import-rows">${int(answer.rows)}</strong> 行，`
        + `修改 <strong id="import-changed">${int(answer.changed)}</strong> 条。</p>`);
      $('import-file').value = '';
      showImportFile();
      await queue(async () => {
        await refreshViews();
        const open = readHash().e;
        if (open && open.startsWith(`${village}/`)) drawEntry(await getJson(entryPath(open)));
      });
    } else if (response.status === 400 && Array.isArray(answer.errors)) {
      const rows = answer.errors.map((e) => `<tr data-field="${esc(e.field)}" data-reason="${esc(e.reason)}">`
        + `<td>${esc(placeZh(e.field))}</td><td>${esc(reasonZh(e.reason))}</td></tr>`).join('');
      say(`<p class="field-error" id="import-message">${name}：文件有 ${answer.errors.length} 处错误，未导入任何内容。请改正后重新导入。</p>`
        + `<table class="list" id="import-errors" aria-label="导入错误"><thead><tr><th>位置</th><th>问题</th></tr></thead><tbody>${rows}</tbody></table>`);
    } else {
      say(`<p class="field-error" id="import-message">导入失败（${response.status}）：${esc(reasonZh(answer.detail || answer.title || ''))}</p>`);
    }
  } catch (e) {
    say(`<p class="field-error" id="import-message">导入失败：${esc(e.message)}</p>`);
  } finally {
    $('import-submit').disabled = false;
    busy(-1);
  }
}

// ---------------------------------------------------------------- the checklist and its units

/** The campaign's checklist with each item's responsible unit (责任单位): editable on a
 * county's own list, and a built-in (a document's own list) can be copied to make one. */
async function drawTemplate() {
  const list = await getJson('api/v1/checklists');
  const summary = list.find((t) => t.id === app.template.id);
  const t = app.template;
  const editable = !!summary?.editable;
  const rows = t.items.map((i) => {
    const unit = i.responsible_unit || '';
    const cell = editable
      ? `<input type="text" data-position="${i.position}" value="${esc(unit)}" maxlength="200" aria-label="第 ${esc(i.number || i.position)} 项责任单位">`
      : esc(unit);
    return `<tr><td class="num">${esc(i.number || '')}</td><td>${esc(i.category)}</td>`
      + `<td>${esc(i.content)}</td><td class="unit">${cell}</td></tr>`;
  }).join('');
  const head = `<p class="muted">${esc(t.name)} · ${esc(t.region)} · ${int(t.items.length)} 项 · 来源：${esc(t.source)}</p>`;
  const action = editable
    ? '<p>本清单是本地清单，可修改各项责任单位；修改后本活动的台账和报表按新的责任单位显示。</p>'
    : '<form id="template-copy" aria-label="复制清单"><p>本清单是文件原文，不能修改。复制为本地清单后可修改责任单位，新建排查活动时选用。</p>'
      + `<label>新清单编号 <input type="text" id="copy-id" required pattern="[A-Za-z0-9\\-]{1,64}" value="${esc(`${t.id}-copy`)}"></label> `
      + `<label>名称 <input type="text" id="copy-name" required maxlength="200" value="${esc(t.name)}"></label> `
      + '<button type="submit">复制清单</button></form>';
  $('template').innerHTML = head + action
    + `<form id="template-units" aria-label="责任单位"><table class="list" id="template-items"><thead><tr><th class="num">序号</th><th>类别</th><th>排查内容</th><th>责任单位</th></tr></thead><tbody>${rows}</tbody></table>`
    + (editable ? '<p><button type="submit" id="units-save">保存责任单位</button> <span id="units-status" aria-live="polite"></span></p>' : '')
    + '</form>';
  $('template').dataset.template = t.id;
}

async function send(method, url, body) {
  const response = await fetch(url, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = Array.isArray(answer.errors) && answer.errors.length
      ? answer.errors.map((e) => `${placeZh(e.field)}：${reasonZh(e.reason)}`).join('；')
      : (answer.detail || answer.title || response.status);
    throw new Error(detail);
  }
  return answer;
}

async function saveUnits() {
  const t = app.template;
  const units = [...document.querySelectorAll('#template-items input[data-position]')]
    .map((input) => ({ position: Number(input.dataset.position), responsible_unit: input.value.trim() }))
    .filter((u) => (itemOf(u.position)?.responsible_unit || '') !== u.responsible_unit);
  if (!units.length) { $('units-status').textContent = '没有需要保存的修改'; return; }
  try {
    const saved = await send('PATCH', `api/v1/checklists/${encodeURIComponent(t.id)}`, { units });
    app.templates.set(t.id, saved);
    app.template = saved;
    await drawTemplate();
    $('units-status').textContent = `已保存 ${units.length} 项责任单位`;
  } catch (e) {
    $('units-status').textContent = `未保存：${e.message}`;
  }
}

async function copyTemplate() {
  const t = app.template;
  try {
    const copy = await send('POST', `api/v1/checklists/${encodeURIComponent(t.id)}/copy`, { id: $('copy-id').value.trim(), name: $('copy-name').value.trim() });
    toast(`已复制为本地清单“${copy.name}”（编号 ${copy.id}），新建排查活动时可选用`);
  } catch (e) {
    toast(`复制失败：${e.message}`);
  }
}

// ---------------------------------------------------------------- wiring

function wire() {
  bindEditorInput($('editor'));
  drawStatusFilters();
  window.addEventListener('hashchange', () => queue(() => apply()));
  $('campaign').addEventListener('change', (e) => navigate({ c: e.target.value, t: '', st: [], cat: '', od: false, off: 0, e: '' }));
  $('township').addEventListener('change', (e) => navigate({ t: e.target.value, off: 0 }));
  $('filters').addEventListener('change', () => navigate(filtersFromForm()));
  $('filters').addEventListener('submit', (e) => e.preventDefault());
  $('filter-clear').addEventListener('click', () => navigate({ st: [], cat: '', od: false, off: 0 }));
  $('import-form').addEventListener('submit', (e) => { e.preventDefault(); importFile(); });
  $('import-file').addEventListener('change', showImportFile);
  $('template').addEventListener('submit', (e) => {
    e.preventDefault();
    if (e.target.id === 'template-units') queue(() => saveUnits());
    else if (e.target.id === 'template-copy') queue(() => copyTemplate());
  });
  const open = (target) => {
    const el = target.closest('[data-open]');
    if (el) navigate({ e: el.dataset.open });
    return !!el;
  };
  $('matrix-wrap').addEventListener('click', (e) => open(e.target));
  $('entries').addEventListener('click', (e) => {
    if (open(e.target)) return;
    const pager = e.target.closest('button[data-off]');
    if (pager) navigate({ off: Number(pager.dataset.off) });
  });
  $('entries').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      const row = e.target.closest('tr[data-open]');
      if (row) { e.preventDefault(); navigate({ e: row.dataset.open }); }
    }
  });
  const panel = $('entry');
  panel.addEventListener('submit', (e) => { e.preventDefault(); save(); });
  panel.addEventListener('input', (e) => {
    const m = e.target.id.match(/^f-(secretary|first_secretary|group_leader)-at$/);
    if (m && e.target.value) signAsMe(m[1]);
  });
  panel.addEventListener('click', (e) => {
    const t = e.target;
    if (t.id === 'entry-close') navigate({ e: '' });
    else if (t.id === 'entry-reset' || t.id === 'conflict-discard') {
      app.conflict = null;
      drawEntry(app.entry);
    } else if (t.id === 'conflict-reapply') save();
    else if (t.dataset.today) {
      $(`f-${t.dataset.today}-at`).value = todayChina();
      signAsMe(t.dataset.today);
    }
    else if (t.dataset.clear) {
      $(`f-${t.dataset.clear}-who`).value = '';
      $(`f-${t.dataset.clear}-at`).value = '';
    }
  });
}

async function start() {
  app.who = await session();
  showSignedIn($('who'), app.who);
  wire();
  busy(1);
  try {
    const [campaigns, townships] = await Promise.all([
      getJson('api/v1/campaigns'),
      getJson('api/v1/areas?level=township'),
    ]);
    app.campaigns = campaigns;
    app.townships = townships;
    if (!campaigns.length) {
      $('summary').innerHTML = '<p>还没有排查活动。</p>';
    } else {
      await queue(() => apply());
    }
    window.ledger.ready = true;
    document.body.dataset.ready = 'true';
  } finally {
    busy(-1);
  }
}

start().catch((e) => {
  toast(`督查台账无法加载：${e.message}`);
  window.ledger.failed = e.message;
});
